// Types for protoo-server 4.0.x, which ships none. Only what this project uses.
declare module 'protoo-server' {
	import type { EventEmitter } from 'node:events';
	import type { IncomingMessage, Server as HttpServer } from 'node:http';
	import type { Socket } from 'node:net';

	export type ProtooRequest = { request: true; id: number; method: string; data: unknown };
	export type ProtooNotification = { notification: true; method: string; data: unknown };
	export type AcceptFn = (data?: unknown) => void;
	export type RejectFn = (codeOrError: number | Error, reason?: string) => void;

	export interface WebSocketTransport extends EventEmitter {
		readonly closed: boolean;
		close(): void;
	}

	export type ConnectionRequestInfo = { request: IncomingMessage; origin: string; socket: Socket };

	export class WebSocketServer extends EventEmitter {
		constructor(httpServer: HttpServer, options?: Record<string, unknown>);
		stop(): void;
		on(
			event: 'connectionrequest',
			listener: (info: ConnectionRequestInfo, accept: () => WebSocketTransport, reject: (code?: number, reason?: string) => void) => void,
		): this;
	}

	export class Peer extends EventEmitter {
		readonly id: string;
		readonly closed: boolean;
		readonly data: Record<string, unknown>;
		close(): void;
		request(method: string, data?: unknown): Promise<unknown>;
		notify(method: string, data?: unknown): Promise<void>;
		on(event: 'request', listener: (request: ProtooRequest, accept: AcceptFn, reject: RejectFn) => void): this;
		on(event: 'notification', listener: (notification: ProtooNotification) => void): this;
		on(event: 'close', listener: () => void): this;
	}

	export class Room extends EventEmitter {
		readonly closed: boolean;
		readonly peers: Peer[];
		createPeer(peerId: string, transport: WebSocketTransport): Peer;
		hasPeer(peerId: string): boolean;
		getPeer(peerId: string): Peer | undefined;
		close(): void;
	}

	const protoo: { version: string; WebSocketServer: typeof WebSocketServer; Room: typeof Room };
	export default protoo;
}
