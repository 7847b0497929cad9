/** What the corpus needs to know of the server it attacks: its secret (to sign what a backend would), keys, rooms and limits. */
export type CorpusSettings = {
	secret: string;
	serviceApiKey: string;
	adminApiKey: string;
	/** The room of the bystander and of most actors. */
	room: string;
	/** Another room, with one actor ("outsider"): ids must not cross rooms. */
	otherRoom: string;
	limits: {
		maxMessageBytes: number;
		requestBurst: number;
		maxQueuedRequests: number;
		maxConnectionsPerIp: number;
		httpRequestBurstPerIp: number;
		maxTransportsPerPeer: number;
		maxBodyBytes: number;
	};
};

/** Peer ids of the run: the bystander's two broadcasters and the hostile side's broadcaster. */
export const BYSTANDER_PUBLISHER = 'bystander-pub';
export const BYSTANDER_SUBSCRIBER = 'bystander-sub';
export const EVIL_BROADCASTER = 'evil';
/** Joined in the room, then removed by the host: its token is still valid. */
export const KICKED = 'kicked';
