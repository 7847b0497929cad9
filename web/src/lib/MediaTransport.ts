/**
 * One WebRTC transport (sending or receiving) and its ICE recovery: DTLS
 * set-up through the signalling of the moment, and the ICE state machine of
 * reconnect.ts carried out (timers, `restartIce`). It outlives a signalling
 * connection: while the session is being resumed its recovery is
 * suspended, and the resume says whether its ICE must be restarted.
 */
import type { types as msc } from 'mediasoup-client';
import type { CreateWebRtcTransportResponse } from '../../../server/signalling/protocol.js';
import { defaultIcePolicy, iceTransition, initialIceState } from './reconnect.js';
import type { IceEffect, IceEvent, IcePolicy, IceRecoveryState, ServerIceState } from './reconnect.js';
import type { TransportDirection } from './resume.js';
import type { Signalling } from './Signalling.js';

/** The signalling connection now, if one is open and the session is ours on it. */
export type CurrentSignalling = () => Signalling | undefined;

export type MediaTransportOptions = {
	direction: TransportDirection;
	transport: msc.Transport;
	signalling: CurrentSignalling;
	icePolicy?: IcePolicy | undefined;
	/** Every connectionState, for the page. */
	onState: (state: msc.ConnectionState) => void;
	/** ICE restarts did not help: the session must be rebuilt. */
	onGaveUp: () => void;
	/** The path looks broken (`disconnected`, `failed`): the signalling may be dead too. */
	onInterrupted?: (() => void) | undefined;
};

export class MediaTransport {
	readonly direction: TransportDirection;
	readonly transport: msc.Transport;
	readonly #signalling: CurrentSignalling;
	readonly #policy: IcePolicy;
	readonly #onGaveUp: () => void;
	#ice: IceRecoveryState = initialIceState;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#closed = false;

	constructor({ direction, transport, signalling, icePolicy, onState, onGaveUp, onInterrupted }: MediaTransportOptions) {
		this.direction = direction;
		this.transport = transport;
		this.#signalling = signalling;
		this.#policy = icePolicy ?? defaultIcePolicy;
		this.#onGaveUp = onGaveUp;
		transport.on('connect', ({ dtlsParameters }, callback, errback) => {
			const started = performance.now();
			const current = signalling();
			if (!current) return errback(new Error('not connected to the server'));
			current.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(() => {
				slow(`connectWebRtcTransport (${direction})`, started);
				callback();
			}, errback);
		});
		transport.on('connectionstatechange', (state) => {
			if (this.#closed) return;
			onState(state);
			this.#event({ type: 'connectionState', state });
			if (state === 'disconnected' || state === 'failed') onInterrupted?.();
		});
	}

	get id(): string {
		return this.transport.id;
	}

	get closed(): boolean {
		return this.#closed || this.transport.closed;
	}

	get connectionState(): msc.ConnectionState {
		return this.transport.connectionState;
	}

	/** The signalling connection dropped: nothing can be restarted until the session is resumed. */
	suspend(): void {
		this.#event({ type: 'signallingLost' });
	}

	/** The session was resumed: restart ICE now if either side lost it. */
	resumed(serverIceState: ServerIceState, pathLost: boolean): void {
		this.#event({ type: 'resumed', serverIceState, pathLost });
	}

	networkChanged(): void {
		this.#event({ type: 'networkChanged' });
	}

	/** Closes its producers, consumers and data channels too (our tracks keep running). */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearTimeout(this.#timer);
		this.transport.close();
	}

	#event(event: IceEvent): void {
		if (this.#closed) return;
		const { state, effects } = iceTransition(this.#ice, event, this.#policy);
		this.#ice = state;
		for (const effect of effects) this.#run(effect);
	}

	#run(effect: IceEffect): void {
		switch (effect.type) {
			case 'startTimer':
				clearTimeout(this.#timer);
				this.#timer = setTimeout(() => this.#event({ type: 'timer' }), effect.delayMs);
				break;
			case 'cancelTimer':
				clearTimeout(this.#timer);
				break;
			case 'restartIce':
				void this.#restartIce();
				break;
			case 'rebuild':
				this.#onGaveUp();
				break;
		}
	}

	async #restartIce(): Promise<void> {
		const signalling = this.#signalling();
		// Without a connection the machine is suspended at once; the resume decides again.
		if (!signalling) return;
		try {
			// A short outage cuts the signalling too: wait until the server answers again, and restart
			// only if ICE has not come back by itself meanwhile (it usually does, and faster).
			await signalling.request('ping', {});
			if (this.closed || this.#ice.phase !== 'restarting') return;
			const iceParameters = await signalling.request('restartIce', { transportId: this.transport.id });
			if (this.closed) return;
			await this.transport.restartIce({ iceParameters });
			console.info('ICE restarted', this.direction);
		} catch (error) {
			// Lost with the connection: not the transport's fault, and the resume looks at it again.
			if (signalling.closed || this.closed) return;
			console.warn('ICE restart failed', this.direction, error);
			this.#event({ type: 'restartFailed' });
		}
	}
}

export function transportOptions(info: CreateWebRtcTransportResponse): msc.TransportOptions {
	return {
		id: info.id,
		iceParameters: info.iceParameters,
		iceCandidates: info.iceCandidates as msc.IceCandidate[],
		dtlsParameters: info.dtlsParameters as msc.DtlsParameters,
		sctpParameters: info.sctpParameters as msc.SctpParameters | undefined,
		// TURN with time-limited credentials, when the server has it configured; rebuilt transports get fresh ones.
		iceServers: info.iceServers ?? [],
	};
}

/** Logs steps that take long enough for the server to give up on them (its requests time out after 30 s). */
export function slow(what: string, started: number): void {
	const ms = performance.now() - started;
	if (ms > 3000) console.warn(`${what} took ${Math.round(ms)} ms`);
}
