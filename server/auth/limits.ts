/**
 * The small mechanisms behind `limits.*` and the PlainTransport allow-list:
 * a token bucket, buckets per key that forget idle keys, a counter of open
 * connections per address, and an address check. Each is enforced at the
 * edge (upgrade, request dispatch, HTTP middleware) before any room or
 * mediasoup object exists.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** `rate` tokens a second, at most `burst` saved up. */
export class TokenBucket {
	#tokens: number;
	#updatedAt: number;

	constructor(readonly rate: number, readonly burst: number, now = Date.now()) {
		this.#tokens = burst;
		this.#updatedAt = now;
	}

	take(now = Date.now()): boolean {
		this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.rate);
		this.#updatedAt = now;
		if (this.#tokens < 1) return false;
		this.#tokens -= 1;
		return true;
	}

	/** Full again, so the key can be forgotten. */
	full(now = Date.now()): boolean {
		return this.#tokens + ((now - this.#updatedAt) / 1000) * this.rate >= this.burst;
	}
}

/** One bucket per key (an IP address); keys whose bucket refilled are dropped now and then, so memory stays bounded by the active keys. */
export class KeyedBuckets {
	readonly #buckets = new Map<string, TokenBucket>();
	#lastSweep = 0;

	constructor(readonly rate: number, readonly burst: number) {}

	take(key: string, now = Date.now()): boolean {
		if (now - this.#lastSweep > 10_000) this.#sweep(now);
		let bucket = this.#buckets.get(key);
		if (!bucket) {
			bucket = new TokenBucket(this.rate, this.burst, now);
			this.#buckets.set(key, bucket);
		}
		return bucket.take(now);
	}

	get size(): number {
		return this.#buckets.size;
	}

	#sweep(now: number): void {
		this.#lastSweep = now;
		for (const [key, bucket] of this.#buckets) if (bucket.full(now)) this.#buckets.delete(key);
	}
}

/** Open connections per remote address. */
export class ConnectionCounter {
	readonly #open = new Map<string, number>();

	constructor(readonly max: number) {}

	/** Counts one more for `address`, or returns false (counting nothing) when it has `max` open. */
	tryOpen(address: string): boolean {
		const count = this.#open.get(address) ?? 0;
		if (count >= this.max) return false;
		this.#open.set(address, count + 1);
		return true;
	}

	close(address: string): void {
		const count = (this.#open.get(address) ?? 0) - 1;
		if (count <= 0) this.#open.delete(address);
		else this.#open.set(address, count);
	}

	count(address: string): number {
		return this.#open.get(address) ?? 0;
	}
}

/** ::ffff:127.0.0.1 → 127.0.0.1 */
export function normalizeAddress(address: string): string {
	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
	return mapped ? mapped[1]! : address;
}

/** Never a destination, whatever the allow-list says: unspecified, multicast, broadcast. */
const neverAllowed = new BlockList();
neverAllowed.addSubnet('0.0.0.0', 8, 'ipv4');
neverAllowed.addSubnet('224.0.0.0', 4, 'ipv4');
neverAllowed.addSubnet('240.0.0.0', 4, 'ipv4');
neverAllowed.addAddress('::', 'ipv6');
neverAllowed.addSubnet('ff00::', 8, 'ipv6');

/** Which addresses media may be sent to (PlainTransport `connect`, comedia). */
export class AddressAllowList {
	readonly #list = new BlockList();
	readonly ranges: readonly string[];

	constructor(ranges: readonly string[]) {
		this.ranges = ranges;
		for (const range of ranges) {
			const [address, bits] = range.split('/') as [string, string | undefined];
			const type = isIPv4(address) ? 'ipv4' : 'ipv6';
			if (bits === undefined) this.#list.addAddress(address, type);
			else this.#list.addSubnet(address, Number(bits), type);
		}
	}

	/** Undefined when allowed, else why not. */
	refusal(rawAddress: string): string | undefined {
		const address = normalizeAddress(rawAddress);
		const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
		if (!type) return `"${rawAddress}" is not an IP address`;
		if (neverAllowed.check(address, type)) return `${address} is an unspecified, multicast or broadcast address: media is never sent there`;
		if (!this.#list.check(address, type)) return `${address} is not on auth.plainTransportAllowList (${this.ranges.join(', ') || 'empty'})`;
		return undefined;
	}
}

/** One key frame request per consumer per interval (a peer's consumers; entries older than the interval are dropped). */
export class KeyFrameThrottle {
	readonly #last = new Map<string, number>();

	constructor(readonly intervalMs: number) {}

	allow(consumerId: string, now = Date.now()): boolean {
		const last = this.#last.get(consumerId);
		if (last !== undefined && now - last < this.intervalMs) return false;
		if (this.#last.size >= 1024) for (const [id, at] of this.#last) if (now - at >= this.intervalMs) this.#last.delete(id);
		this.#last.set(consumerId, now);
		return true;
	}
}
