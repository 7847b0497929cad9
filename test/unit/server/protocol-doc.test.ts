/**
 * PROTOCOL.md documents exactly the methods of protocol.ts. The method lists
 * below are checked by the compiler against the protocol's types (a missing
 * or extra name does not compile), and this test checks them against the page.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../server/config.js';
import type { NotificationMethod, NotificationsFromPeer, RequestMethod, RequestsFromServer } from '../../../server/signalling/protocol.js';

type Exhaustive<K extends string> = { [M in K]: true };

const notificationsFromPeer: Exhaustive<keyof NotificationsFromPeer> = {
	closeProducer: true, pauseProducer: true, resumeProducer: true, pauseConsumer: true, resumeConsumer: true,
	setConsumerPreferredLayers: true, setConsumerPriority: true, requestConsumerKeyFrame: true, changeDisplayName: true, leave: true, closeTransport: true,
};
const requestsFromPeer: Exhaustive<Exclude<RequestMethod, keyof NotificationsFromPeer>> = {
	getRouterRtpCapabilities: true, join: true, createWebRtcTransport: true, connectWebRtcTransport: true, restartIce: true,
	produce: true, produceData: true, getTransportStats: true, getProducerStats: true, getConsumerStats: true,
	getDataProducerStats: true, getDataConsumerStats: true,
	mutePeer: true, allowUnmute: true, stopPeerMedia: true, removePeer: true, lockRoom: true, admitPeer: true, denyPeer: true,
	setPeerRole: true, endMeeting: true, getLobby: true, getAudience: true, raiseHand: true, ping: true, resume: true,
};
const requestsFromServer: Exhaustive<keyof RequestsFromServer> = { newConsumer: true, newDataConsumer: true };
const notificationsFromServer: Exhaustive<NotificationMethod> = {
	newPeer: true, peerClosed: true, peerDisplayNameChanged: true, producerScore: true, consumerScore: true,
	consumerPaused: true, consumerResumed: true, consumerLayersChanged: true, consumerClosed: true, dataConsumerClosed: true,
	activeSpeaker: true, speakingPeers: true, reconnectRequired: true, sessionReplaced: true,
	sessionEnded: true, permissionsChanged: true, moderated: true, peerRoleChanged: true, roomLocked: true, lobbyChanged: true, admitted: true,
	audienceChanged: true, handsChanged: true, peerReconnecting: true, mediaReset: true,
};

const page = readFileSync(join(projectRoot(), 'PROTOCOL.md'), 'utf8');

/** The `### name` headings under a `## title` section. */
function headingsOf(section: string): string[] {
	const start = page.indexOf(`\n## ${section}\n`);
	expect(start, `PROTOCOL.md has a "## ${section}" section`).toBeGreaterThan(0);
	const end = page.indexOf('\n## ', start + 1);
	return [...page.slice(start, end === -1 ? undefined : end).matchAll(/^### (\w+)$/gm)].map((match) => match[1]!);
}

describe('PROTOCOL.md', () => {
	it.each([
		['Requests from a peer', requestsFromPeer],
		['Notifications from a peer', notificationsFromPeer],
		['Requests from the server', requestsFromServer],
		['Notifications from the server', notificationsFromServer],
	] as const)('documents exactly the methods of "%s"', (section, methods) => {
		expect(headingsOf(section).sort()).toEqual(Object.keys(methods).sort());
	});
});
