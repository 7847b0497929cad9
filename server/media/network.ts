/**
 * The address announced in ICE candidates. Wrong announced addresses are the
 * most common "connects but no media" cause, so start-up explains its choice.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../log.js';

export type AnnouncedAddress = { address: string | undefined; source: 'configured' | 'listen-ip' | 'detected' };

const privateRanges = [/^10\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^169\.254\./, /^fc/i, /^fd/i, /^fe80:/i];
const loopback = /^(127\.|::1$)/;
const unspecified = (ip: string) => ip === '0.0.0.0' || ip === '::';

export function isPrivateAddress(address: string): boolean {
	return privateRanges.some((range) => range.test(address));
}

export function isLoopbackAddress(address: string): boolean {
	return loopback.test(address) || address === 'localhost';
}

/** First non-internal IPv4 address of this host, if any. */
function detectHostAddress(): string | undefined {
	for (const addresses of Object.values(networkInterfaces())) {
		for (const info of addresses ?? []) {
			if (info.family === 'IPv4' && !info.internal) return info.address;
		}
	}
	return undefined;
}

/** Resolves mediasoup.announcedAddress and logs what clients will be told, with a warning where it will not work for them. */
export function resolveAnnouncedAddress(listenIp: string, configured: string, logger: Logger): AnnouncedAddress {
	let result: AnnouncedAddress;
	if (configured !== '') result = { address: configured, source: 'configured' };
	else if (!unspecified(listenIp)) result = { address: undefined, source: 'listen-ip' };
	else result = { address: detectHostAddress() ?? '127.0.0.1', source: 'detected' };

	const effective = result.address ?? listenIp;
	const fields = { listenIp, announcedAddress: effective, source: result.source };
	if (isLoopbackAddress(effective)) {
		logger.warn({ ...fields, setting: 'mediasoup.announcedAddress' }, 'media is announced on a loopback address: only browsers on this machine can connect');
	} else if (result.source === 'detected') {
		logger.warn(
			{ ...fields, setting: 'mediasoup.announcedAddress', env: 'SFU_MEDIASOUP_ANNOUNCED_ADDRESS' },
			isPrivateAddress(effective)
				? 'announced address detected from the network interfaces is private: clients outside this network get no media; set the public IP or hostname'
				: 'announced address detected from the network interfaces; set it explicitly in production',
		);
	} else if (isPrivateAddress(effective)) {
		logger.warn({ ...fields }, 'announced address is private: clients outside this network get no media unless routed through TURN');
	} else {
		logger.info(fields, 'media address');
	}
	return result;
}
