/**
 * The signalling protocol: every protoo request and notification between a
 * peer and the server, and the HTTP broadcaster API, as TypeScript types.
 *
 * This module holds types only. The server, the web client and the load
 * tester import it with `import type`, so a renamed method or field fails to
 * compile everywhere at once. PROTOCOL.md is checked against it by a test.
 *
 * Wire format: protoo over WebSocket (subprotocol `protoo`), URL
 * `wss://host:port/?roomId=<id>&token=<join token>` (see JoinTokenClaims;
 * `peerId`, if given, must be the token's identity; a server in open mode
 * also takes `?roomId=<id>&peerId=<id>` without a token). Shapes follow mediasoup-demo's
 * JavaScript client, the de-facto reference of the mediasoup ecosystem, so
 * clients and bots written for it work unchanged. Additions of ours are new
 * methods or optional fields.
 */
import type { types as ms } from 'mediasoup';

export type RoomId = string;
export type PeerId = string;

/** Allowed characters and length of roomId and peerId (checked at WebSocket upgrade). */
export const ID_PATTERN_SOURCE = '^[A-Za-z0-9_.~-]{1,64}$';

/** What a client says about itself; shown to other peers, never trusted. */
export type PeerDevice = {
	flag?: string;
	name?: string;
	version?: string;
};

// ---------------------------------------------------------------------------
// Access: join tokens, roles and permissions (the table is server/auth/roles.ts).
// ---------------------------------------------------------------------------

/**
 * What a peer may do. Every request names the permission it needs (or none);
 * a request without it is refused with 403 and the missing permission named.
 */
export type Permission =
	| 'publishAudio'
	| 'publishVideo'
	| 'publishScreen'
	| 'publishData'
	| 'subscribe'
	| 'chat'
	| 'seeParticipants'
	| 'moderate';

/**
 * host: everything, moderation included. presenter and participant: publish
 * and subscribe (a presenter is on the stage of a stream). viewer: receives
 * only. guest: waits in the lobby until a host admits it. service:
 * broadcasters, recorders and ingest over the HTTP API.
 */
export type Role = 'host' | 'presenter' | 'participant' | 'viewer' | 'guest' | 'service';

/** Roles a host can give to a peer in the room (`setPeerRole`, `admitPeer`). */
export type AssignableRole = Exclude<Role, 'guest' | 'service'>;

/**
 * Claims of a join token: a JWT signed with the server's secret (HS256) or a
 * configured Ed25519 key (EdDSA), passed as `token` in the WebSocket URL.
 */
export type JoinTokenClaims = {
	/** The peer id: nobody else can connect as this identity. */
	sub: PeerId;
	/** The room this token admits to. */
	room: RoomId;
	role: Role;
	/** Display name to start with (the client may change it unless `name` is locked by the app). */
	name?: string;
	/** Grants or withdrawals on top of the role's permissions. */
	permissions?: Partial<Record<Permission, boolean>>;
	exp: number;
	nbf?: number;
	iat?: number;
};

/** A peer as other peers see it (join response, `newPeer`). */
export type PeerInfo = {
	id: PeerId;
	displayName: string;
	device: PeerDevice;
	/** Ours: the peer's role (absent for mediasoup-demo's clients, which ignore it). */
	role: Role;
};

/** A peer waiting in the lobby, as hosts see it. */
export type LobbyEntry = { id: PeerId; displayName: string; waitingSince: number };

/** Media a host can stop (`stopPeerMedia`): the sources of the web client. */
export type ModeratedSource = 'mic' | 'webcam' | 'screen';

/** Free-form application data attached to producers; forwarded to consumers. */
export type ClientAppData = Record<string, unknown>;

/** appData of a consumer as delivered in `newConsumer`: the producer's appData plus its owner. */
export type ConsumerAppData = ClientAppData & { peerId: PeerId };

// ---------------------------------------------------------------------------
// Requests from a peer to the server: method → request data, response data.
// ---------------------------------------------------------------------------

export type JoinRequest = {
	displayName: string;
	device?: PeerDevice;
	/** Without it the peer receives no consumers (it only sends). */
	rtpCapabilities?: ms.RtpCapabilities;
	/** Without it the peer receives no data consumers. */
	sctpCapabilities?: ms.SctpCapabilities;
};

export type CreateWebRtcTransportRequest = {
	forceTcp?: boolean;
	/** mediasoup-demo's JavaScript client sends these two. */
	producing?: boolean;
	consuming?: boolean;
	/** Enables SCTP (data channels) on the transport. */
	sctpCapabilities?: ms.SctpCapabilities;
	/** mediasoup-demo's TypeScript client sends the direction here instead. */
	appData?: { direction?: 'producer' | 'consumer' } & ClientAppData;
};

/** An RTCIceServer: a TURN server with time-limited credentials. */
export type IceServer = { urls: string[]; username: string; credential: string };

export type CreateWebRtcTransportResponse = {
	id: string;
	iceParameters: ms.IceParameters;
	iceCandidates: ms.IceCandidate[];
	dtlsParameters: ms.DtlsParameters;
	sctpParameters?: ms.SctpParameters;
	/** Ours: TURN servers to give the client transport (`iceServers` option), when the server has them configured. */
	iceServers?: IceServer[];
};

export type ProduceRequest = {
	transportId: string;
	kind: ms.MediaKind;
	rtpParameters: ms.RtpParameters;
	/** e.g. `{ source: 'webcam' | 'mic' | 'screen' | 'screen-audio' }`; given to consumers. */
	appData?: ClientAppData;
	/** Start paused (a muted microphone). */
	paused?: boolean;
};

export type ProduceDataRequest = {
	transportId: string;
	sctpStreamParameters: ms.SctpStreamParameters;
	label?: string;
	protocol?: string;
	appData?: ClientAppData;
};

export type ProducerIdData = { producerId: string };
export type ConsumerIdData = { consumerId: string };

export type SetConsumerPreferredLayersData = {
	consumerId: string;
	spatialLayer: number;
	temporalLayer?: number;
};

export type SetConsumerPriorityData = {
	consumerId: string;
	/** 1 (lowest) to 255. */
	priority: number;
};

export type ChangeDisplayNameData = { displayName: string };

/** Ours: what a join tells the peer about its own access. */
export type JoinResponse = {
	/** The stage: the other joined peers who may publish. The audience is counted in `audience` (hosts list it with `getAudience`). */
	peers: PeerInfo[];
	role: Role;
	permissions: Permission[];
	/** The room is locked: only hosts may join now. */
	locked: boolean;
	/** The peer waits in the lobby; `admitted` or `sessionEnded` follows. */
	lobby: boolean;
	/** How many joined peers may not publish (a stream's audience); `audienceChanged` follows changes. */
	audience: number;
	/** How this session survives a dropped connection; absent when the server keeps no sessions (`rooms.resumeGraceMs` 0). */
	resume?: ResumeCredential;
};

/**
 * Ours: a session's resume credential. When the WebSocket drops, the server
 * keeps the peer (transports, producers, consumers; the others see only
 * `peerReconnecting`) for `graceMs`. A new connection with
 * `&resume=<token>` in its URL (and the same identity: the same join token,
 * or in open mode the same peerId) takes the session over; its first
 * request is then `resume`. After `graceMs` the peer is closed as if it had
 * left.
 */
export type ResumeCredential = { token: string; graceMs: number };

/** Ours: a transport the server still holds for a resumed session. */
export type ResumedTransport = {
	id: string;
	direction: 'send' | 'recv';
	iceState: ms.IceState;
	dtlsState: ms.DtlsState;
};

/**
 * Ours: the answer to `resume`: the room now (as for `join`) and what the
 * server still holds of the session. Anything else the client has (a
 * producer whose answer was lost with the connection, a consumer closed
 * while it was away) is gone: the client drops it. Consumers of producers
 * that appeared meanwhile are offered with `newConsumer` after this answer.
 */
export type ResumeResponse = JoinResponse & {
	transports: ResumedTransport[];
	producers: { id: string; kind: ms.MediaKind; paused: boolean; source?: string }[];
	/** `paused`: by this peer; `producerPaused`: by its sender (a mute it may have missed while away). */
	consumers: { id: string; producerId: string; paused: boolean; producerPaused: boolean }[];
	dataProducers: { id: string; label: string }[];
	dataConsumers: { id: string; dataProducerId: string }[];
};

/** Roles a broadcaster may be created with over the HTTP API. */
export const BROADCASTER_ROLES = ['service', 'viewer'] as const satisfies readonly Role[];
export type BroadcasterRole = (typeof BROADCASTER_ROLES)[number];

/** A hand raised in the audience (or by anyone), as those with `seeParticipants` see it. */
export type RaisedHand = { peerId: PeerId; displayName: string; since: number };

export type PeerIdData = { peerId: PeerId };

/**
 * Methods a peer may send as protoo notifications. They are also accepted as
 * protoo requests (mediasoup-demo's JavaScript client sends them so), and
 * then answered with empty response data.
 */
export type NotificationsFromPeer = {
	closeProducer: ProducerIdData;
	pauseProducer: ProducerIdData;
	resumeProducer: ProducerIdData;
	pauseConsumer: ConsumerIdData;
	resumeConsumer: ConsumerIdData;
	setConsumerPreferredLayers: SetConsumerPreferredLayersData;
	setConsumerPriority: SetConsumerPriorityData;
	requestConsumerKeyFrame: ConsumerIdData;
	changeDisplayName: ChangeDisplayNameData;
	/** Ours: the peer leaves for good (the user left, the page is going away): closed at once, no grace window. */
	leave: Record<string, never>;
	/** Ours: closes one of the peer's transports, and the producers and consumers on it (e.g. one whose creation answer was lost, seen in `resume`). */
	closeTransport: { transportId: string };
};

export type RequestsFromPeer = {
	/** Response: the router's RTP capabilities, to load a mediasoup-client Device. */
	getRouterRtpCapabilities: { data: Record<string, never> | undefined; response: ms.RtpCapabilities };
	/** May come before or after the transports are created. */
	join: { data: JoinRequest; response: JoinResponse };
	createWebRtcTransport: { data: CreateWebRtcTransportRequest; response: CreateWebRtcTransportResponse };
	connectWebRtcTransport: { data: { transportId: string; dtlsParameters: ms.DtlsParameters }; response: Record<string, never> };
	/** Response: the new ICE parameters object itself. */
	restartIce: { data: { transportId: string }; response: ms.IceParameters };
	produce: { data: ProduceRequest; response: { id: string } };
	produceData: { data: ProduceDataRequest; response: { id: string } };
	getTransportStats: { data: { transportId: string }; response: ms.WebRtcTransportStat[] };
	getProducerStats: { data: ProducerIdData; response: ms.ProducerStat[] };
	getConsumerStats: { data: ConsumerIdData; response: ms.ConsumerStat[] };
	getDataProducerStats: { data: { dataProducerId: string }; response: ms.DataProducerStat[] };
	getDataConsumerStats: { data: { dataConsumerId: string }; response: ms.DataConsumerStat[] };

	// Moderation: each needs the `moderate` permission (hosts).
	/** Pauses the peer's microphone on the server; it cannot unmute until `allowUnmute`. */
	mutePeer: { data: PeerIdData; response: Record<string, never> };
	/** Lets a muted peer unmute again (it is not unmuted: it decides). */
	allowUnmute: { data: PeerIdData; response: Record<string, never> };
	/** Closes the peer's producers of a source (it may start them again, unless its role forbids). */
	stopPeerMedia: { data: PeerIdData & { source: ModeratedSource }; response: Record<string, never> };
	/** Removes the peer; its identity cannot join again until the room ends. */
	removePeer: { data: PeerIdData; response: Record<string, never> };
	/** Locked: only hosts may join. */
	lockRoom: { data: { locked: boolean }; response: Record<string, never> };
	/** Lets a peer waiting in the lobby in, with a role (default participant). */
	admitPeer: { data: PeerIdData & { role?: AssignableRole }; response: Record<string, never> };
	denyPeer: { data: PeerIdData; response: Record<string, never> };
	/** Changes a peer's role now; what the new role may not do is stopped. */
	setPeerRole: { data: PeerIdData & { role: AssignableRole }; response: Record<string, never> };
	/** Ends the meeting for everyone: all peers get `sessionEnded` and the room closes. */
	endMeeting: { data: Record<string, never> | undefined; response: Record<string, never> };
	/** Who waits in the lobby (also pushed to hosts as `lobbyChanged`). */
	getLobby: { data: Record<string, never> | undefined; response: { waiting: LobbyEntry[] } };
	/** The audience, one by one (up to 500, with raised hands first): what a host chooses from to bring someone on stage. */
	getAudience: { data: Record<string, never> | undefined; response: { count: number; audience: (PeerInfo & { handRaised: boolean })[] } };

	// Streams: any joined peer.
	/** Raises or lowers this peer's hand; those with `seeParticipants` get `handsChanged`. */
	raiseHand: { data: { raised: boolean }; response: Record<string, never> };
	/** Ours: liveness, any time after connecting. A client that gets no answer for a few seconds treats the connection as dead. */
	ping: { data: Record<string, never> | undefined; response: { serverTime: number } };
	/**
	 * Ours: the first request of a connection opened with `&resume=<token>`:
	 * the session is this peer's again. `404` when there is no session to
	 * resume (its grace window ended, the server restarted, a wrong token):
	 * the client then joins afresh on this same connection.
	 */
	resume: { data: Record<string, never> | undefined; response: ResumeResponse };
} & {
	[M in keyof NotificationsFromPeer]: { data: NotificationsFromPeer[M]; response: Record<string, never> };
};

export type RequestMethod = keyof RequestsFromPeer;
export type RequestData<M extends RequestMethod> = RequestsFromPeer[M]['data'];
export type ResponseData<M extends RequestMethod> = RequestsFromPeer[M]['response'];
export type PeerNotificationMethod = keyof NotificationsFromPeer;

// ---------------------------------------------------------------------------
// Requests from the server to a peer. The peer accepts once it is ready to
// receive; the server resumes the (paused) consumer only then.
// ---------------------------------------------------------------------------

export type NewConsumerData = {
	/** The peer (or broadcaster) that owns the producer. */
	peerId: PeerId;
	producerId: string;
	id: string;
	kind: ms.MediaKind;
	rtpParameters: ms.RtpParameters;
	type: ms.ConsumerType;
	appData: ConsumerAppData;
	producerPaused: boolean;
};

export type NewDataConsumerData = {
	peerId: PeerId;
	dataProducerId: string;
	id: string;
	sctpStreamParameters: ms.SctpStreamParameters;
	label: string;
	protocol: string;
	appData: ConsumerAppData;
};

export type RequestsFromServer = {
	newConsumer: { data: NewConsumerData; response: unknown };
	newDataConsumer: { data: NewDataConsumerData; response: unknown };
};

// ---------------------------------------------------------------------------
// Notifications from the server to a peer.
// ---------------------------------------------------------------------------

export type NotificationsFromServer = {
	newPeer: PeerInfo;
	peerClosed: { peerId: PeerId };
	peerDisplayNameChanged: { peerId: PeerId; displayName: string; oldDisplayName: string };
	producerScore: { producerId: string; score: ms.ProducerScore[] };
	consumerScore: { consumerId: string; score: ms.ConsumerScore };
	consumerPaused: ConsumerIdData;
	consumerResumed: ConsumerIdData;
	/** `null` layers: the consumer forwards nothing (paused, or no layer fits). */
	consumerLayersChanged: { consumerId: string; spatialLayer: number | null; temporalLayer: number | null };
	consumerClosed: ConsumerIdData;
	dataConsumerClosed: { dataConsumerId: string };
	/** The dominant speaker (ActiveSpeakerObserver); `null` when nobody speaks. */
	activeSpeaker: { peerId: PeerId | null };
	/** Peers whose audio is above the threshold, loudest first, volume in dBov (-127..0). Empty on silence. */
	speakingPeers: { peerVolumes: { peerId: PeerId; volume: number }[] };
	/**
	 * Ours: the server lost this peer's media (its worker died) or is shutting
	 * down; the client should reconnect and join again (after a short delay).
	 * The server closes the WebSocket right after.
	 */
	reconnectRequired: { reason: 'worker-died' | 'server-shutdown' | 'server-draining' };
	/**
	 * Ours: another connection joined with this peerId (a reconnect, or the
	 * same link opened twice) and replaced this session. The client must NOT
	 * reconnect automatically. The server closes the WebSocket right after.
	 */
	sessionReplaced: Record<string, never>;
	/**
	 * Ours: this session is over and must NOT reconnect: a host removed the
	 * peer, denied it entry from the lobby, or ended the meeting. The server
	 * closes the WebSocket right after.
	 */
	sessionEnded: { reason: 'removed' | 'denied' | 'meeting-ended' | 'lobby-timeout'; by?: PeerId };
	/** Ours: this peer's own role or permissions changed (a host's action). */
	permissionsChanged: { role: Role; permissions: Permission[]; by?: PeerId };
	/** Ours: a host acted on this peer's media; `producerIds` are the producers concerned (paused for `muted`, closed for `media-stopped`). */
	moderated: { action: 'muted' | 'unmute-allowed' | 'media-stopped'; source: ModeratedSource; producerIds: string[]; by: PeerId };
	/** Ours: another peer's role changed. */
	peerRoleChanged: { peerId: PeerId; role: Role };
	/** Ours: the room was locked or unlocked. */
	roomLocked: { locked: boolean; by: PeerId };
	/** Ours, to hosts: who waits in the lobby now. */
	lobbyChanged: { waiting: LobbyEntry[] };
	/** Ours, to a peer that waited in the lobby: it is in, with this role; the others follow as for `join`. */
	admitted: JoinResponse;
	/** Ours: how many joined peers may not publish (the audience), at most 4 times a second. */
	audienceChanged: { count: number };
	/** Ours, to peers with `seeParticipants`: the raised hands now, oldest first (at most 4 times a second). */
	handsChanged: { raised: RaisedHand[] };
	/** Ours: a member's connection dropped and the server holds its session (`reconnecting: true`), or it is back (`false`). Its media may keep flowing. */
	peerReconnecting: { peerId: PeerId; reconnecting: boolean };
	/**
	 * Ours: this peer's media was lost with its mediasoup worker: its
	 * transports (and their producers and consumers) are closed, the session
	 * stays (the others see its media end, not the peer leave). The client
	 * creates new transports (on a live worker) and publishes again; the
	 * others' producers are offered again on its new receiving transport.
	 */
	mediaReset: { reason: 'worker-died' };
};

export type NotificationMethod = keyof NotificationsFromServer;

/** protoo error codes used in rejections (`errorCode` of the response). */
export const ErrorCode = {
	/** Malformed request data; `errorReason` names the field. */
	badRequest: 400,
	/** Missing or invalid credentials (HTTP API). */
	unauthorized: 401,
	/** The id exists but belongs to another peer, or the peer may not do this (the reason names the missing permission). */
	forbidden: 403,
	/** No such transport/producer/consumer of this peer. */
	notFound: 404,
	/** Unknown method. */
	unknownMethod: 405,
	/** Wrong state, e.g. `join` twice or `produce` before `join`. */
	conflict: 409,
	/** Request larger than `signalling.maxMessageBytes`. */
	tooLarge: 413,
	/** HTTP only: a body of the wrong Content-Type (WHIP/WHEP take application/sdp). */
	unsupportedMediaType: 415,
	/** A configured limit (peers per room, producers per peer, request rate…) is reached. */
	limitReached: 429,
	/** mediasoup refused the operation (e.g. unsupported codec); `errorReason` says why. */
	mediaError: 422,
	internal: 500,
	/** The server cannot take this connection now (rooms.maxRooms reached, no media worker). */
	unavailable: 503,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

// ---------------------------------------------------------------------------
// HTTP API (JSON). Mounted at /api/rooms and, for mediasoup-demo's
// broadcaster tools, also at /rooms.
// ---------------------------------------------------------------------------

export type RoomSummary = {
	id: RoomId;
	createdAt: string;
	peers: number;
	broadcasters: number;
	producers: number;
	consumers: number;
	/** Workers carrying this room's routers (one unless it has spread). */
	workerPids: number[];
};

/**
 * Every route but `POST /api/token` needs `Authorization: Bearer <credential>`:
 * an API key of `auth.serviceApiKeys` or a join token of role `service` for
 * the room (broadcaster routes), an API key of `auth.adminApiKeys` (listing).
 */
export type HttpApi = {
	/** POST /api/token — open mode only (no auth.secret): a token for this server's own web client, with a fresh identity. */
	openModeToken: {
		body: { roomId: RoomId; role?: 'participant' | 'viewer'; displayName?: string };
		response: { token: string; identity: PeerId; role: Role; expiresAt: number };
	};
	/** GET /api/rooms (admin) */
	listRooms: { response: { rooms: RoomSummary[] } };
	/** GET /api/rooms/:roomId — the room's router RTP capabilities (creates the room). */
	getRoom: { response: ms.RtpCapabilities };
	/** POST /api/drain (admin): the server drains (see `drainTimeoutMs`); 202. */
	drain: { response: { status: 'draining'; rooms: number; peers: number; drainTimeoutMs: number } };
	/** POST /api/rooms/:roomId/broadcasters */
	createBroadcaster: {
		body: {
			id: PeerId;
			displayName: string;
			device?: PeerDevice;
			rtpCapabilities?: ms.RtpCapabilities;
			/**
			 * `service` (default): publishes and subscribes, announced to the room
			 * with `newPeer`. `viewer`: only subscribes (a recorder, an RTP player,
			 * a load generator's audience member), counted in the audience and
			 * never announced.
			 */
			role?: BroadcasterRole;
		};
		/** The stage: the others who may publish, with their producers (the audience has none). */
		response: { peers: (PeerInfo & { producers: { id: string; kind: ms.MediaKind }[] })[] };
	};
	/** DELETE /api/rooms/:roomId/broadcasters/:broadcasterId */
	deleteBroadcaster: { response: Record<string, never> };
	/** POST /api/rooms/:roomId/broadcasters/:broadcasterId/transports */
	createPlainTransport: {
		body: {
			type?: 'plain';
			/** Learn the remote address from the first packet received (default true). */
			comedia?: boolean;
			/** RTP and RTCP on one port (default true). */
			rtcpMux?: boolean;
			enableSrtp?: boolean;
			srtpCryptoSuite?: ms.SrtpCryptoSuite;
			/** SCTP over the plain transport (data channels without DTLS, e.g. for bots). */
			enableSctp?: boolean;
			numSctpStreams?: ms.NumSctpStreams;
		};
		response: { id: string; ip: string; port: number; rtcpPort?: number; srtpParameters?: ms.SrtpParameters; sctpParameters?: ms.SctpParameters };
	};
	/** POST …/transports/:transportId/connect — needed without comedia, or to give SRTP keys. */
	connectPlainTransport: {
		body: { ip?: string; port?: number; rtcpPort?: number; srtpParameters?: ms.SrtpParameters };
		response: Record<string, never>;
	};
	/** POST …/transports/:transportId/producers */
	createProducer: {
		body: { kind: ms.MediaKind; rtpParameters: ms.RtpParameters; paused?: boolean; appData?: ClientAppData };
		response: { id: string };
	};
	/** POST …/transports/:transportId/consume?producerId=… (or producerId in the body) */
	createConsumer: {
		body: { producerId?: string; paused?: boolean };
		response: { id: string; producerId: string; kind: ms.MediaKind; rtpParameters: ms.RtpParameters; type: ms.ConsumerType };
	};
	/** POST …/transports/:transportId/produce/data (transport created with enableSctp) */
	createDataProducer: {
		body: { sctpStreamParameters: ms.SctpStreamParameters; label?: string; protocol?: string; appData?: ClientAppData };
		response: { id: string };
	};
	/** POST …/transports/:transportId/consume/data */
	createDataConsumer: {
		body: { dataProducerId: string };
		response: { id: string; dataProducerId: string; streamId: number; label: string; protocol: string };
	};
	/** POST …/consumers/:consumerId/preferred-layers (simulcast/SVC consumers) */
	setPreferredLayers: { body: { spatialLayer: number; temporalLayer?: number }; response: Record<string, never> };
	/** POST …/consumers/:consumerId/resume and …/consumers/:consumerId/request-key-frame */
	consumerAction: { response: Record<string, never> };
};

/** Body of every HTTP error response. */
export type HttpError = { error: string };

/** GET /healthz */
export type HealthReport = {
	/** `draining`: meetings run on, no new rooms (a load balancer should send no one here); 503 unless `ok`. */
	status: 'ok' | 'degraded' | 'draining' | 'shutting-down';
	workers: { pid: number; alive: boolean; routers: number; consumers: number }[];
	expectedWorkers: number;
	rooms: number;
	peers: number;
	uptimeSeconds: number;
};
