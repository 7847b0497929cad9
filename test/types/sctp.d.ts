// Types for sctp 1.0 (JavaScript SCTP over UDP, as mediasoup's own tests use it). Only what the tests use.
declare module 'sctp' {
	import type { Socket as UdpSocket } from 'node:dgram';
	import type { EventEmitter } from 'node:events';
	import type { Duplex } from 'node:stream';

	export type SctpBuffer = Buffer & { ppid?: number };
	export interface SctpStream extends Duplex {
		write(chunk: SctpBuffer): boolean;
	}
	export interface SctpSocket extends EventEmitter {
		createStream(streamId: number): SctpStream;
		end(): void;
		on(event: 'connect', listener: () => void): this;
		on(event: 'error', listener: (error: Error) => void): this;
		on(event: 'stream', listener: (stream: SctpStream, streamId: number) => void): this;
	}
	export const PPID: { WEBRTC_STRING: number; WEBRTC_BINARY: number };
	export function defaults(options: { PMTU?: number }): void;
	export function connect(options: { localPort: number; port: number; OS: number; MIS: number; udpTransport: UdpSocket }): SctpSocket;
	const sctp: { PPID: typeof PPID; defaults: typeof defaults; connect: typeof connect };
	export default sctp;
}
