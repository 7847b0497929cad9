/**
 * A handful of real WebRTC subscribers: headless Chromium pages running
 * loadtest/browser/subscriber.ts (mediasoup-client + protoo-client, bundled
 * here with Vite), each joining the room as a receive-only peer. Their
 * inbound-rtp statistics show whether the cheap PlainTransport subscribers
 * measure what a browser sees.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, CHROMIUM_PATH, pageBundle } from './bundle.js';

export type BrowserInboundStats = {
	kind: 'audio' | 'video';
	packetsReceived: number;
	packetsLost: number;
	bytesReceived: number;
	jitter: number;
	framesDecoded?: number;
};

type SubscriberApi = {
	start(wsUrl: string, roomId: string, peerId: string): Promise<void>;
	stats(): Promise<BrowserInboundStats[]>;
	close(): void;
	error(): string | undefined;
};

export class BrowserSubscribers {
	private constructor(
		private readonly browser: Browser,
		private readonly pages: Page[],
	) {}

	/** Launches Chromium and joins `count` receive-only peers to `roomId`. */
	static async start(options: { rootDir: string; serverUrl: string; wsUrl: string; roomId: string; count: number; executablePath?: string }): Promise<BrowserSubscribers> {
		const script = await pageBundle(options.rootDir, 'subscriber');
		const browser = await chromium.launch({ executablePath: options.executablePath ?? CHROMIUM_PATH, args: CHROMIUM_FLAGS });
		const pages: Page[] = [];
		try {
			for (let i = 0; i < options.count; i++) {
				const context = await browser.newContext({ ignoreHTTPSErrors: true });
				const page = await context.newPage();
				// An https page of the server's origin: a secure context, and the certificate already accepted.
				await page.goto(`${options.serverUrl}/healthz`);
				await page.addScriptTag({ content: script });
				await page.evaluate(
					async ({ wsUrl, roomId, peerId }) => {
						const api = (globalThis as unknown as { loadtestSubscriber: SubscriberApi }).loadtestSubscriber;
						await api.start(wsUrl, roomId, peerId);
					},
					{ wsUrl: options.wsUrl, roomId: options.roomId, peerId: `chromium-${i}-${Date.now().toString(36)}` },
				);
				pages.push(page);
			}
		} catch (error) {
			await browser.close();
			throw error;
		}
		return new BrowserSubscribers(browser, pages);
	}

	/** inbound-rtp of every consumer of every page. */
	async stats(): Promise<BrowserInboundStats[][]> {
		return Promise.all(
			this.pages.map((page) =>
				page.evaluate(async () => (globalThis as unknown as { loadtestSubscriber: SubscriberApi }).loadtestSubscriber.stats()),
			),
		);
	}

	async close(): Promise<void> {
		for (const page of this.pages) await page.evaluate(() => (globalThis as unknown as { loadtestSubscriber: SubscriberApi }).loadtestSubscriber.close()).catch(() => undefined);
		await this.browser.close();
	}
}
