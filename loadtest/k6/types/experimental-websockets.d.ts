/**
 * k6 v1.3 ships the WebSocket API as `k6/experimental/websockets`, whose
 * constructor takes subprotocols as its second argument; @types/k6 only
 * declares the later `k6/websockets`, with that argument typed as reserved.
 */
declare module 'k6/experimental/websockets' {
	import type { Params, WebSocket as K6WebSocket } from 'k6/websockets';

	export type { ErrorEvent, MessageEvent, Params } from 'k6/websockets';
	export type WebSocket = K6WebSocket;
	export const WebSocket: {
		new (url: string, protocols?: string | string[] | null, params?: Params | null): K6WebSocket;
	};
}
