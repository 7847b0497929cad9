/**
 * Who may do what: one table from roles to permissions, one table from each
 * signalling request to the permission it needs, and one function that
 * checks them. The request table is a mapped type over every protocol
 * method, so a new method does not compile until it says what it needs.
 */
import { forbidden } from '../signalling/errors.js';
import type { AssignableRole, ModeratedSource, Permission, RequestData, RequestMethod, Role } from '../signalling/protocol.js';

export const allPermissions = [
	'publishAudio',
	'publishVideo',
	'publishScreen',
	'publishData',
	'subscribe',
	'chat',
	'seeParticipants',
	'moderate',
] as const satisfies readonly Permission[];

export const allRoles = ['host', 'presenter', 'participant', 'viewer', 'guest', 'service'] as const satisfies readonly Role[];
export const assignableRoles = ['host', 'presenter', 'participant', 'viewer'] as const satisfies readonly AssignableRole[];

const publishing: Permission[] = ['publishAudio', 'publishVideo', 'publishScreen', 'publishData'];

/** The permissions of each role. A token may add or withdraw some (`permissions` claim). */
export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
	host: allPermissions,
	presenter: [...publishing, 'subscribe', 'chat', 'seeParticipants'],
	participant: [...publishing, 'subscribe', 'chat', 'seeParticipants'],
	viewer: ['subscribe', 'chat'],
	guest: [],
	service: [...publishing, 'subscribe', 'chat'],
};

export type PermissionOverrides = Partial<Record<Permission, boolean>>;

/** A peer's role and the changes to it (from its token, or a host's mute). */
export class Access {
	#role: Role;
	#overrides: PermissionOverrides;

	constructor(role: Role, overrides: PermissionOverrides = {}) {
		this.#role = role;
		this.#overrides = { ...overrides };
	}

	get role(): Role {
		return this.#role;
	}

	can(permission: Permission): boolean {
		return this.#overrides[permission] ?? rolePermissions[this.#role].includes(permission);
	}

	canAll(permissions: readonly Permission[]): boolean {
		return permissions.every((permission) => this.can(permission));
	}

	canPublish(): boolean {
		return publishing.some((permission) => this.can(permission));
	}

	list(): Permission[] {
		return allPermissions.filter((permission) => this.can(permission));
	}

	/** A new role replaces the token's overrides: the host's decision is the newer one. */
	setRole(role: Role): void {
		this.#role = role;
		this.#overrides = {};
	}

	override(permission: Permission, allowed: boolean | undefined): void {
		if (allowed === undefined) delete this.#overrides[permission];
		else this.#overrides[permission] = allowed;
	}

	/** Throws 403 naming the (first) missing permission. */
	require(permissions: Permission | readonly Permission[], action: string): void {
		for (const permission of typeof permissions === 'string' ? [permissions] : permissions) {
			if (!this.can(permission)) throw forbidden(`${action} needs the "${permission}" permission, which role "${this.#role}" does not have here`);
		}
	}

	/** Role and overrides, to carry a host's decisions over to the same identity's next session. */
	snapshot(): { role: Role; overrides: PermissionOverrides } {
		return { role: this.#role, overrides: { ...this.#overrides } };
	}
}

/**
 * The permissions a producer of this kind and source needs, all of them.
 * Audio always needs `publishAudio`, whatever its label says (a muted peer
 * cannot send its voice as "screen-audio"); a screen share also needs
 * `publishScreen`.
 */
export function publishPermissions(kind: 'audio' | 'video', source: unknown): Permission[] {
	const screen = source === 'screen' || source === 'screen-audio';
	if (kind === 'audio') return screen ? ['publishAudio', 'publishScreen'] : ['publishAudio'];
	return screen ? ['publishScreen'] : ['publishVideo'];
}

/** The source a moderator names, mapped onto producers' `appData.source`. */
export function matchesSource(source: ModeratedSource, kind: 'audio' | 'video', appSource: unknown): boolean {
	switch (source) {
		case 'mic':
			return kind === 'audio' && appSource !== 'screen-audio';
		case 'webcam':
			return kind === 'video' && appSource !== 'screen';
		case 'screen':
			return appSource === 'screen' || appSource === 'screen-audio';
	}
}

/**
 * What each request needs. `null`: nothing beyond being connected (own
 * objects are still checked by ownership). A function: the permission
 * depends on the data, or on the peer's own objects (`resumeProducer` of a
 * muted microphone needs `publishAudio` again).
 */
export type Requirement<M extends RequestMethod> =
	| Permission
	| null
	| { anyOf: Permission[] }
	| ((data: RequestData<M>, lookup: ProducerLookup) => Permission[] | Permission | null);

/** Kind and source of one of the peer's own producers, for `resumeProducer`. */
export type ProducerLookup = (producerId: string) => { kind: 'audio' | 'video'; source: unknown } | undefined;

export const requirements: { [M in RequestMethod]: Requirement<M> } = {
	getRouterRtpCapabilities: null,
	join: null,
	createWebRtcTransport: { anyOf: [...publishing, 'subscribe'] },
	connectWebRtcTransport: null,
	restartIce: null,
	produce: (data) => publishPermissions(data.kind, data.appData?.source),
	produceData: (data) => (data.label === 'chat' ? 'chat' : 'publishData'),
	closeProducer: null,
	pauseProducer: null,
	resumeProducer: (data, lookup) => {
		const producer = lookup(data.producerId);
		return producer ? publishPermissions(producer.kind, producer.source) : null;
	},
	pauseConsumer: 'subscribe',
	resumeConsumer: 'subscribe',
	setConsumerPreferredLayers: 'subscribe',
	setConsumerPriority: 'subscribe',
	requestConsumerKeyFrame: 'subscribe',
	changeDisplayName: null,
	getTransportStats: null,
	getProducerStats: null,
	getConsumerStats: null,
	getDataProducerStats: null,
	getDataConsumerStats: null,
	mutePeer: 'moderate',
	allowUnmute: 'moderate',
	stopPeerMedia: 'moderate',
	removePeer: 'moderate',
	lockRoom: 'moderate',
	admitPeer: 'moderate',
	denyPeer: 'moderate',
	setPeerRole: 'moderate',
	endMeeting: 'moderate',
	getLobby: 'moderate',
	getAudience: 'moderate',
	raiseHand: null,
	leave: null,
	closeTransport: null,
	ping: null,
	resume: null,
};

/** The one check every request passes before its handler runs. */
export function authorize<M extends RequestMethod>(access: Access, method: M, data: RequestData<M>, lookup: ProducerLookup): void {
	const requirement = requirements[method] as Requirement<M>;
	if (requirement === null) return;
	if (typeof requirement === 'string') return access.require(requirement, method);
	if (typeof requirement === 'function') {
		const permissions = requirement(data, lookup);
		if (permissions !== null) access.require(permissions, method);
		return;
	}
	if (!requirement.anyOf.some((permission) => access.can(permission))) {
		throw forbidden(`${method} needs one of the permissions ${requirement.anyOf.map((p) => `"${p}"`).join(', ')}; role "${access.role}" has none of them here`);
	}
}
