/**
 * Measures (does not judge) the time from clicking "Join" to the first
 * decoded remote frame, over several runs: a newcomer opens the page, sees
 * the camera preview, types a name and clicks Join, in a room where one
 * participant is already sending. Prints median and p95 and writes them to
 * test-results/e2e/join-to-first-frame.json with the machine they ran on.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import {
	artifactsDir,
	closeAll,
	deepLink,
	expectVideoDecoding,
	launchChromium,
	openParticipant,
	projectDir,
	SIGNAL_TIMEOUT_MS,
	startTestServer,
	waitJoined,
	type Participant,
} from './harness.js';
import { joinToFirstFrame, median, percentile } from './timing.js';

const ROOM = 'e2e-timing';
const RUNS = 10;

function packageVersion(name: string): string {
	const manifest = JSON.parse(readFileSync(join(projectDir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
	return manifest.version;
}

describe('join to first remote frame', { timeout: 300_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	let host: Participant | undefined;

	beforeAll(async () => {
		server = await startTestServer();
		browser = await launchChromium();
	});

	afterAll(async () => {
		if (host) await closeAll([host]);
		await browser?.close();
		await server?.close();
	});

	it(`is measured over ${RUNS} clicks on Join`, async () => {
		host = await openParticipant(browser, deepLink(server, ROOM, 'Host'), 'Host');
		await waitJoined(host);

		const samples: number[] = [];
		for (let run = 1; run <= RUNS; run++) {
			const guest = await openParticipant(browser, `${server.url}/?roomId=${ROOM}`, `Guest ${run}`);
			try {
				// As a person would: the preview is running before they click.
				await expectVideoDecoding(guest.page, '[data-testid="preview-video"]', 'camera preview');
				await guest.page.locator('[data-testid="name-input"]').fill(`Guest ${run}`);
				await guest.page.locator('[data-testid="join-button"]').click();
				await waitJoined(guest);
				const ms = await joinToFirstFrame(guest.page);
				// The frame the page reported is one that really decodes.
				await expectVideoDecoding(guest.page, '[data-testid="peer-tile"][data-display-name="Host"] video', `guest ${run} sees the host`);
				samples.push(ms);
			} finally {
				await closeAll([guest]);
			}
			// The host sees the guest leave before the next one comes.
			await host.page
				.locator(`[data-testid="peer-tile"][data-display-name="Guest ${run}"]`)
				.waitFor({ state: 'detached', timeout: SIGNAL_TIMEOUT_MS });
		}

		expect(samples).toHaveLength(RUNS);
		for (const ms of samples) expect(ms).toBeGreaterThan(0);
		const result = {
			measure: 'join click to first decoded remote video frame (requestVideoFrameCallback), ms',
			runs: RUNS,
			medianMs: Math.round(median(samples)),
			p95Ms: Math.round(percentile(samples, 95)),
			minMs: Math.round(Math.min(...samples)),
			maxMs: Math.round(Math.max(...samples)),
			samplesMs: samples.map((s) => Math.round(s)),
			setup: 'one host sending VP8 simulcast + Opus; each guest joins with camera and microphone on; server and Chromium on the same machine (loopback)',
			machine: { cpuCores: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30) },
			versions: {
				chromium: browser.version(),
				mediasoup: packageVersion('mediasoup'),
				mediasoupClient: packageVersion('mediasoup-client'),
				node: process.version,
			},
			date: new Date().toISOString(),
		};
		mkdirSync(artifactsDir, { recursive: true });
		const path = join(artifactsDir, 'join-to-first-frame.json');
		writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
		console.log(
			`join → first remote frame over ${RUNS} runs: median ${result.medianMs} ms, p95 ${result.p95Ms} ms ` +
				`(min ${result.minMs}, max ${result.maxMs}; ${result.machine.cpuCores} cores; Chromium ${result.versions.chromium}) → ${path}`,
		);
	});
});
