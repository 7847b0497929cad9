/** Types for protoo-client 4.0.8, which ships JavaScript only. Used by lib/Signalling.ts alone. */
declare module 'protoo-client' {
	export type ProtooRequest = { request: true; id: number; method: string; data?: unknown };
	export type ProtooNotification = { notification: true; method: string; data?: unknown };
	/** Options of the `retry` package: attempts to open the WebSocket before emitting 'close'. */
	export type RetryOptions = { retries?: number; factor?: number; minTimeout?: number; maxTimeout?: number };
	/** Errors of rejected requests carry the protoo error code. */
	export type ProtooError = Error & { code?: number };

	export class WebSocketTransport {
		constructor(url: string, options?: { retry?: RetryOptions });
		readonly closed: boolean;
		close(): void;
		/** Every parsed message (request, response, notification), besides the Peer's own listener. */
		on(event: 'message', listener: (message: unknown) => void): this;
	}

	export class Peer {
		constructor(transport: WebSocketTransport);
		readonly closed: boolean;
		readonly connected: boolean;
		close(): void;
		request(method: string, data?: unknown): Promise<unknown>;
		notify(method: string, data?: unknown): Promise<void>;
		on(event: 'open' | 'disconnected' | 'close', listener: () => void): this;
		on(event: 'failed', listener: (currentAttempt: number) => void): this;
		on(
			event: 'request',
			listener: (
				request: ProtooRequest,
				accept: (data?: unknown) => void,
				reject: (code: number | Error, reason?: string) => void,
			) => void,
		): this;
		on(event: 'notification', listener: (notification: ProtooNotification) => void): this;
		removeAllListeners(): this;
	}

	export const version: string;
}
