/**
 * What RoomClient tells the page: its typed events and the shapes they
 * carry. Publisher and Subscriber emit through RoomClient with the same
 * types.
 */
import type { types as msc } from 'mediasoup-client';
import type { LobbyEntry, NotificationsFromServer, PeerId, PeerInfo, RaisedHand, Role } from '../../../server/signalling/protocol.js';
import type { AccessState } from './access.js';
import type { UserError } from './errors.js';
import type { SessionState } from './reconnect.js';
import type { TransportDirection } from './resume.js';
import type { MediaSource } from './sources.js';

export type { TransportDirection } from './resume.js';

export type RemoteConsumer = {
	id: string;
	peerId: PeerId;
	producerId: string;
	kind: 'audio' | 'video';
	source: MediaSource | 'unknown';
	track: MediaStreamTrack;
	/** Paused by its sender (muted microphone, camera off). */
	producerPaused: boolean;
	spatialLayers: number;
	temporalLayers: number;
	/** Height of the top layer as the sender declared it (appData.height), when it did. */
	topLayerHeight?: number | undefined;
	codec: string;
};

export type ChatMessage = {
	id: string;
	peerId: PeerId;
	displayName: string;
	text: string;
	sentAt: number;
	receivedAt: number;
	own: boolean;
};

export type ProducerState = { source: MediaSource; producerId: string; paused: boolean; codec: string };

export type RoomClientEvents = {
	session: [SessionState];
	/** The room's other peers, complete: after each join (`resumed` false), and after a resume (true: the same session). */
	peers: [PeerInfo[], { resumed: boolean }];
	peerJoined: [PeerInfo];
	peerLeft: [PeerId];
	peerRenamed: [PeerId, string];
	/** A member's connection dropped and the server holds its session (true), or it is back (false). */
	peerReconnecting: [PeerId, boolean];
	consumerAdded: [RemoteConsumer];
	consumerClosed: [string];
	consumerProducerPaused: [string, boolean];
	consumerLayers: [string, number | null, number | null];
	consumerScore: [string, NotificationsFromServer['consumerScore']['score']];
	/** A producer was created (undefined: closed) for a source. */
	producer: [MediaSource, ProducerState | undefined];
	producerScore: [MediaSource, NotificationsFromServer['producerScore']['score']];
	/** A published track ended by itself (device unplugged, the browser's "stop sharing"); it is unpublished. */
	trackEnded: [MediaSource];
	activeSpeaker: [PeerId | null];
	speakingPeers: [NotificationsFromServer['speakingPeers']['peerVolumes']];
	chatReady: [boolean];
	chatMessage: [ChatMessage];
	transportState: [TransportDirection, msc.ConnectionState];
	/** The server lost our media (its worker died) but kept the session: the transports are being rebuilt. */
	mediaReset: [string];
	/** Our role, permissions, the room's lock and a host's mute: after the join, an admission, a resume, and each change. */
	access: [AccessState];
	/** Hosts: who waits in the lobby now. */
	lobbyChanged: [LobbyEntry[]];
	/** How many joined peers may not publish (a stream's audience): at the join, then as it changes. */
	audience: [number];
	/** Peers with `seeParticipants`: the raised hands now, oldest first. */
	hands: [RaisedHand[]];
	peerRoleChanged: [PeerId, Role];
	/** A host acted on our media; what that means for what we publish is done already. */
	moderated: [NotificationsFromServer['moderated']];
	/** The server stopped a source (a host, or a role that no longer allows it): it is unpublished. */
	mediaWithdrawn: [MediaSource];
	/** Something the user should see; the session may go on. */
	error: [UserError];
};

export type Emit = <E extends keyof RoomClientEvents>(event: E, ...args: RoomClientEvents[E]) => void;
