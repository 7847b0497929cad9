/** Errors a request can end with: each carries the protoo/HTTP status and a reason the client can act on. */
import { ErrorCode, type ErrorCodeValue } from './protocol.js';

export class RequestError extends Error {
	constructor(readonly code: ErrorCodeValue, message: string) {
		super(message);
		this.name = 'RequestError';
	}
}

export const badRequest = (message: string) => new RequestError(ErrorCode.badRequest, message);
export const forbidden = (message: string) => new RequestError(ErrorCode.forbidden, message);
export const notFound = (message: string) => new RequestError(ErrorCode.notFound, message);
export const conflict = (message: string) => new RequestError(ErrorCode.conflict, message);
export const limitReached = (message: string) => new RequestError(ErrorCode.limitReached, message);

/**
 * Maps anything thrown while handling a request to a code and reason.
 * mediasoup throws TypeError for parameters it refuses (bad RTP parameters,
 * unsupported codec) and UnsupportedError/InvalidStateError: those are the
 * client's fault (422), anything else is ours (500).
 */
export function toRequestError(error: unknown): RequestError {
	if (error instanceof RequestError) return error;
	if (error instanceof Error) {
		if (error instanceof TypeError || error.name === 'UnsupportedError' || error.name === 'InvalidStateError') {
			return new RequestError(ErrorCode.mediaError, error.message);
		}
		// The worker refused a producer whose SSRC, MID or RID the transport already routes: the client's to fix.
		if (/already exists in RTP listener/i.test(error.message)) return new RequestError(ErrorCode.mediaError, error.message);
		return new RequestError(ErrorCode.internal, `internal error: ${error.message}`);
	}
	return new RequestError(ErrorCode.internal, 'internal error');
}
