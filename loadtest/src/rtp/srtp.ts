/**
 * SRTP/SRTCP with AES_CM_128_HMAC_SHA1_80 (RFC 3711), the default suite of
 * mediasoup's PlainTransport. Publishers encrypt what they send (so the server
 * pays its real decryption cost); tests decrypt a sample of what subscribers
 * receive to prove the server's encryption is real. Counting, loss and jitter
 * need no decryption: the RTP header stays in clear.
 */
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';

export type SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

/** mediasoup's SrtpParameters: master key (16 bytes) + master salt (14 bytes), base64. */
export type SrtpParameters = { cryptoSuite: SrtpCryptoSuite; keyBase64: string };

const MASTER_KEY_BYTES = 16;
const MASTER_SALT_BYTES = 14;
const AUTH_KEY_BYTES = 20;
const SRTCP_INDEX_BYTES = 4;

export function tagBytes(suite: SrtpCryptoSuite): number {
	return suite === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 4;
}

export function randomSrtpParameters(cryptoSuite: SrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80'): SrtpParameters {
	return { cryptoSuite, keyBase64: randomBytes(MASTER_KEY_BYTES + MASTER_SALT_BYTES).toString('base64') };
}

/** AES in counter mode from a 16-byte IV: the keystream XORed onto `data`. */
function aesCm(key: Buffer, iv: Buffer, data: Buffer): Buffer {
	const cipher = createCipheriv('aes-128-ctr', key, iv);
	return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** RFC 3711 §4.3.1 key derivation with key_derivation_rate 0 (index term is zero). */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
	const iv = Buffer.alloc(16);
	masterSalt.copy(iv, 0);
	iv[7] = iv[7]! ^ label;
	return aesCm(masterKey, iv, Buffer.alloc(length));
}

type SessionKeys = { encryption: Buffer; salt: Buffer; auth: Buffer };

function sessionKeys(masterKey: Buffer, masterSalt: Buffer, firstLabel: number): SessionKeys {
	return {
		encryption: deriveSessionKey(masterKey, masterSalt, firstLabel, MASTER_KEY_BYTES),
		auth: deriveSessionKey(masterKey, masterSalt, firstLabel + 1, AUTH_KEY_BYTES),
		salt: deriveSessionKey(masterKey, masterSalt, firstLabel + 2, MASTER_SALT_BYTES),
	};
}

/** IV = (salt · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16). */
function packetIv(salt: Buffer, ssrc: number, index: number): Buffer {
	const iv = Buffer.alloc(16);
	salt.copy(iv, 0);
	iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
	const high = Math.floor(index / 0x100000000);
	const low = index >>> 0;
	iv.writeUInt16BE(iv.readUInt16BE(8) ^ (high & 0xffff), 8);
	iv.writeUInt32BE((iv.readUInt32BE(10) ^ low) >>> 0, 10);
	return iv;
}

/** The AES-CM keystream of one packet (RFC 3711 §4.1.1), e.g. for the test vectors of Appendix B.2. */
export function srtpKeystream(sessionKey: Buffer, sessionSalt: Buffer, ssrc: number, index: number, length: number): Buffer {
	return aesCm(sessionKey, packetIv(sessionSalt, ssrc, index), Buffer.alloc(length));
}

function rtpHeaderLength(packet: Buffer): number {
	let length = 12 + (packet[0]! & 0x0f) * 4;
	if (packet[0]! & 0x10) length += 4 + packet.readUInt16BE(length + 2) * 4;
	return length;
}

export class SrtpError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'SrtpError';
	}
}

/** Per-SSRC rollover state (RFC 3711 §3.3.1). */
type RtpStreamState = { roc: number; lastSeq: number };

/** One direction of an SRTP session: protects (sender) or unprotects (receiver) RTP and RTCP. */
export class SrtpSession {
	readonly tagLength: number;
	private readonly rtpKeys: SessionKeys;
	private readonly rtcpKeys: SessionKeys;
	private readonly streams = new Map<number, RtpStreamState>();
	private srtcpIndex = 0;

	/** Takes mediasoup's SrtpParameters; suites other than AES_CM_128_HMAC_SHA1_80/32 are refused. */
	constructor(parameters: { cryptoSuite: string; keyBase64: string }) {
		if (parameters.cryptoSuite !== 'AES_CM_128_HMAC_SHA1_80' && parameters.cryptoSuite !== 'AES_CM_128_HMAC_SHA1_32') {
			throw new SrtpError(`SRTP crypto suite ${parameters.cryptoSuite} is not implemented by the load generator; use AES_CM_128_HMAC_SHA1_80`);
		}
		const master = Buffer.from(parameters.keyBase64, 'base64');
		if (master.length !== MASTER_KEY_BYTES + MASTER_SALT_BYTES) {
			throw new SrtpError(`${parameters.cryptoSuite} needs a 30-byte master key+salt, got ${master.length} bytes`);
		}
		const masterKey = master.subarray(0, MASTER_KEY_BYTES);
		const masterSalt = master.subarray(MASTER_KEY_BYTES);
		this.rtpKeys = sessionKeys(masterKey, masterSalt, 0x00);
		this.rtcpKeys = sessionKeys(masterKey, masterSalt, 0x03);
		this.tagLength = tagBytes(parameters.cryptoSuite);
	}

	private authTag(keys: SessionKeys, parts: Buffer[]): Buffer {
		const hmac = createHmac('sha1', keys.auth);
		for (const part of parts) hmac.update(part);
		return hmac.digest().subarray(0, this.tagLength);
	}

	/** Sender side: the packet index follows the sequence numbers it is given, counting wraps. */
	private senderIndex(ssrc: number, seq: number): number {
		let state = this.streams.get(ssrc);
		if (!state) {
			state = { roc: 0, lastSeq: seq };
			this.streams.set(ssrc, state);
		} else {
			if (seq < state.lastSeq && state.lastSeq - seq > 0x8000) state.roc = (state.roc + 1) >>> 0;
			state.lastSeq = seq;
		}
		return state.roc * 0x10000 + seq;
	}

	/** Receiver side: estimates the index of a received packet (RFC 3711 Appendix A). */
	private receiverIndex(ssrc: number, seq: number): { index: number; roc: number } {
		const state = this.streams.get(ssrc);
		if (!state) return { index: seq, roc: 0 };
		let roc = state.roc;
		if (state.lastSeq < 0x8000) {
			if (seq - state.lastSeq > 0x8000) roc = (roc - 1) >>> 0;
		} else if (state.lastSeq - 0x8000 > seq) {
			roc = (roc + 1) >>> 0;
		}
		return { index: roc * 0x10000 + seq, roc };
	}

	protectRtp(packet: Buffer): Buffer {
		const headerLength = rtpHeaderLength(packet);
		const ssrc = packet.readUInt32BE(8);
		const index = this.senderIndex(ssrc, packet.readUInt16BE(2));
		const roc = Math.floor(index / 0x10000);
		const encrypted = aesCm(this.rtpKeys.encryption, packetIv(this.rtpKeys.salt, ssrc, index), packet.subarray(headerLength));
		const rocBytes = Buffer.allocUnsafe(4);
		rocBytes.writeUInt32BE(roc >>> 0, 0);
		const header = packet.subarray(0, headerLength);
		const tag = this.authTag(this.rtpKeys, [header, encrypted, rocBytes]);
		return Buffer.concat([header, encrypted, tag]);
	}

	/** Verifies and decrypts an SRTP packet; throws SrtpError when authentication fails. */
	unprotectRtp(packet: Buffer): Buffer {
		if (packet.length < 12 + this.tagLength) throw new SrtpError('SRTP packet too short');
		const headerLength = rtpHeaderLength(packet);
		const ssrc = packet.readUInt32BE(8);
		const seq = packet.readUInt16BE(2);
		const { index, roc } = this.receiverIndex(ssrc, seq);
		const body = packet.subarray(0, packet.length - this.tagLength);
		const tag = packet.subarray(packet.length - this.tagLength);
		const rocBytes = Buffer.allocUnsafe(4);
		rocBytes.writeUInt32BE(roc >>> 0, 0);
		if (!this.authTag(this.rtpKeys, [body, rocBytes]).equals(tag)) throw new SrtpError(`SRTP authentication failed (ssrc ${ssrc}, seq ${seq})`);
		const state = this.streams.get(ssrc);
		if (!state) this.streams.set(ssrc, { roc, lastSeq: seq });
		else if (roc > state.roc || (roc === state.roc && seq > state.lastSeq)) {
			state.roc = roc;
			state.lastSeq = seq;
		}
		const decrypted = aesCm(this.rtpKeys.encryption, packetIv(this.rtpKeys.salt, ssrc, index), body.subarray(headerLength));
		return Buffer.concat([body.subarray(0, headerLength), decrypted]);
	}

	protectRtcp(packet: Buffer): Buffer {
		const ssrc = packet.readUInt32BE(4);
		const index = this.srtcpIndex;
		this.srtcpIndex = (this.srtcpIndex + 1) & 0x7fffffff;
		const encrypted = aesCm(this.rtcpKeys.encryption, packetIv(this.rtcpKeys.salt, ssrc, index), packet.subarray(8));
		const eIndex = Buffer.allocUnsafe(SRTCP_INDEX_BYTES);
		eIndex.writeUInt32BE((0x80000000 | index) >>> 0, 0);
		const header = packet.subarray(0, 8);
		const tag = this.authTag(this.rtcpKeys, [header, encrypted, eIndex]);
		return Buffer.concat([header, encrypted, eIndex, tag]);
	}

	/** Verifies and decrypts an SRTCP packet; throws SrtpError when authentication fails. */
	unprotectRtcp(packet: Buffer): Buffer {
		if (packet.length < 8 + SRTCP_INDEX_BYTES + this.tagLength) throw new SrtpError('SRTCP packet too short');
		const authenticated = packet.subarray(0, packet.length - this.tagLength);
		const tag = packet.subarray(packet.length - this.tagLength);
		if (!this.authTag(this.rtcpKeys, [authenticated]).equals(tag)) throw new SrtpError('SRTCP authentication failed');
		const eIndex = authenticated.readUInt32BE(authenticated.length - SRTCP_INDEX_BYTES);
		const payload = authenticated.subarray(8, authenticated.length - SRTCP_INDEX_BYTES);
		if (!(eIndex & 0x80000000)) return Buffer.concat([authenticated.subarray(0, 8), payload]);
		const ssrc = packet.readUInt32BE(4);
		const decrypted = aesCm(this.rtcpKeys.encryption, packetIv(this.rtcpKeys.salt, ssrc, eIndex & 0x7fffffff), payload);
		return Buffer.concat([authenticated.subarray(0, 8), decrypted]);
	}
}
