/** The part of protoo-client 4 (untyped JavaScript) the load tester uses. */
declare module 'protoo-client' {
	import type { EventEmitter } from 'node:events';

	export type WebSocketTransportOptions = {
		/** `retry` module options; `{ retries: 0 }` gives up after the first failure. */
		retry?: { retries?: number; factor?: number; minTimeout?: number; maxTimeout?: number };
		origin?: string;
		headers?: Record<string, string>;
		requestOptions?: Record<string, unknown>;
		/** Passed to the `websocket` package's client, e.g. `{ tlsOptions: { rejectUnauthorized: false } }`. */
		clientConfig?: Record<string, unknown>;
	};

	export class WebSocketTransport {
		constructor(url: string, options?: WebSocketTransportOptions);
		get closed(): boolean;
		close(): void;
	}

	export type ProtooRequest = { request: true; id: number; method: string; data: unknown };
	export type ProtooNotification = { notification: true; method: string; data: unknown };

	export class Peer extends EventEmitter {
		constructor(transport: WebSocketTransport);
		get closed(): boolean;
		get connected(): boolean;
		close(): void;
		request(method: string, data?: unknown): Promise<unknown>;
		notify(method: string, data?: unknown): Promise<void>;
		on(event: 'open' | 'disconnected' | 'close', listener: () => void): this;
		on(event: 'failed', listener: (currentAttempt: number) => void): this;
		on(
			event: 'request',
			listener: (request: ProtooRequest, accept: (data?: unknown) => void, reject: (code: number | Error, reason?: string) => void) => void,
		): this;
		on(event: 'notification', listener: (notification: ProtooNotification) => void): this;
	}
}
