// Types for protoo-client 4.0.x (JavaScript only), as the Node tests use it.
declare module 'protoo-client' {
	export type ProtooRequest = { request: true; id: number; method: string; data: unknown };
	export type ProtooNotification = { notification: true; method: string; data: unknown };

	export class WebSocketTransport {
		constructor(url: string, options?: { retry?: { retries?: number }; clientConfig?: Record<string, unknown> });
		readonly closed: boolean;
		close(): void;
	}

	export class Peer {
		constructor(transport: WebSocketTransport);
		readonly closed: boolean;
		readonly connected: boolean;
		close(): void;
		request(method: string, data?: unknown): Promise<unknown>;
		notify(method: string, data?: unknown): Promise<void>;
		on(event: 'open' | 'disconnected' | 'close', listener: () => void): this;
		on(event: 'failed', listener: (attempt: number) => void): this;
		on(event: 'request', listener: (request: ProtooRequest, accept: (data?: unknown) => void, reject: (code: number, reason?: string) => void) => void): this;
		on(event: 'notification', listener: (notification: ProtooNotification) => void): this;
	}
}
