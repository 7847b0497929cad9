// The parts of websocket-node (a dependency of protoo-client and protoo-server) that the hostile client uses.
declare module 'websocket' {
	import type { EventEmitter } from 'node:events';
	import type { RequestOptions } from 'node:https';

	export type Message = { type: 'utf8'; utf8Data: string } | { type: 'binary'; binaryData: Buffer };

	export class connection extends EventEmitter {
		readonly connected: boolean;
		sendUTF(text: string, callback?: (error?: Error) => void): void;
		close(reasonCode?: number, description?: string): void;
		drop(reasonCode?: number, description?: string): void;
		on(event: 'message', listener: (message: Message) => void): this;
		on(event: 'close', listener: (code: number, description: string) => void): this;
		on(event: 'error', listener: (error: Error) => void): this;
	}

	export class client extends EventEmitter {
		constructor(config?: { tlsOptions?: Record<string, unknown>; maxReceivedFrameSize?: number; maxReceivedMessageSize?: number });
		connect(url: string, protocols?: string | string[], origin?: string, headers?: Record<string, string>, requestOptions?: RequestOptions): void;
		abort(): void;
		on(event: 'connect', listener: (connection: connection) => void): this;
		on(event: 'connectFailed', listener: (error: Error) => void): this;
	}

	/** CommonJS: only the default export is visible to ESM importers. */
	const websocket: { client: typeof client };
	export default websocket;
}
