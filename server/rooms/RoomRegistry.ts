/**
 * All rooms of this server: created on first use, removed when they close.
 * A single-node registry; rooms are reached only through it, so assigning
 * rooms to nodes (DESIGN.md §1) can later be done behind this interface.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { WorkerPool } from '../media/WorkerPool.js';
import type { RoomId, RoomSummary } from '../signalling/protocol.js';
import { Room, type CloseReason } from './Room.js';

/** No new room here: the server holds rooms.maxRooms, or it is draining. */
export class RoomLimitError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'RoomLimitError';
	}
}

export class RoomRegistry {
	readonly #rooms = new Map<RoomId, Room>();
	readonly #creating = new Map<RoomId, Promise<Room>>();
	readonly #pool: WorkerPool;
	readonly #config: Config;
	readonly #logger: Logger;
	#draining = false;

	constructor(pool: WorkerPool, config: Config, logger: Logger) {
		this.#pool = pool;
		this.#config = config;
		this.#logger = logger;
	}

	/** Draining: the rooms that exist run on, no new one is created. */
	stopCreating(): void {
		this.#draining = true;
	}

	get draining(): boolean {
		return this.#draining;
	}

	get size(): number {
		return this.#rooms.size;
	}

	rooms(): Room[] {
		return [...this.#rooms.values()];
	}

	get(roomId: RoomId): Room | undefined {
		return this.#rooms.get(roomId);
	}

	/** Would a new room exceed rooms.maxRooms? */
	isFull(roomId: RoomId): boolean {
		return !this.#rooms.has(roomId) && !this.#creating.has(roomId) && this.#rooms.size + this.#creating.size >= this.#config.rooms.maxRooms;
	}

	async getOrCreate(roomId: RoomId): Promise<Room> {
		const existing = this.#rooms.get(roomId);
		if (existing && !existing.closed) return existing;
		const pending = this.#creating.get(roomId);
		if (pending) return pending;
		if (this.#draining) throw new RoomLimitError('this server is draining: it takes no new rooms (try another node, or again later)');
		if (this.isFull(roomId)) throw new RoomLimitError(`the server holds its maximum of ${this.#config.rooms.maxRooms} rooms (rooms.maxRooms)`);
		const creation = Room.create({ id: roomId, pool: this.#pool, config: this.#config, logger: this.#logger }).then((room) => {
			this.#rooms.set(roomId, room);
			room.once('close', () => {
				if (this.#rooms.get(roomId) === room) this.#rooms.delete(roomId);
			});
			return room;
		});
		this.#creating.set(roomId, creation);
		try {
			return await creation;
		} finally {
			this.#creating.delete(roomId);
		}
	}

	summaries(): RoomSummary[] {
		return this.rooms().map((room) => room.summary());
	}

	peerCount(): number {
		return this.rooms().reduce((sum, room) => sum + room.peers.size, 0);
	}

	closeAll(reason?: CloseReason): void {
		for (const room of this.rooms()) room.close(reason);
	}
}
