/**
 * What a user sees when joining cannot work: a full room, a server that
 * cannot be reached, camera and microphone access denied. Each must be a
 * visible message on the page, never only a console line.
 */
import { createServer } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SfuServer } from '../../server/server.js';
import {
	CHROMIUM,
	closeAll,
	deepLink,
	launchChromium,
	openParticipant,
	SIGNAL_TIMEOUT_MS,
	startTestServer,
	tileOf,
	waitJoined,
	type Participant,
} from './harness.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
	const probe = createServer();
	await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
	const address = probe.address();
	await new Promise<void>((resolve) => probe.close(() => resolve()));
	if (typeof address !== 'object' || address === null) throw new Error('no port');
	return address.port;
}

describe('errors a user can act on', { timeout: 120_000 }, () => {
	let server: SfuServer;
	let browser: Browser;
	const everyone: Participant[] = [];

	beforeAll(async () => {
		server = await startTestServer({ rooms: { maxPeersPerRoom: 1 } });
		browser = await launchChromium();
	});

	afterAll(async () => {
		await closeAll(everyone);
		await browser?.close();
		await server?.close();
	});

	it('a full room says so, and the page stays usable', async () => {
		const first = await openParticipant(browser, deepLink(server, 'e2e-full', 'First'), 'First');
		everyone.push(first);
		await waitJoined(first);
		const second = await openParticipant(browser, deepLink(server, 'e2e-full', 'Second'), 'Second');
		everyone.push(second);
		const error = second.page.locator('[data-testid="error"][data-kind="room-full"]');
		await error.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		await expect(error.textContent()).resolves.toContain('The room is full');
		// Back on the join form, with the room filled in, ready to try again or pick another room.
		await expect(second.page.locator('[data-testid="room-input"]').inputValue()).resolves.toBe('e2e-full');
		await expect(second.page.locator('[data-testid="join-button"]').isEnabled()).resolves.toBe(true);
		// The one inside never saw the second.
		await expect(tileOf(first.page, 'Second').count()).resolves.toBe(0);
	});

	it('an unreachable server says so after a few quick attempts', async () => {
		const port = await closedPort();
		const page = await openParticipant(browser, deepLink(server, 'e2e-nowhere', 'Lost', { server: `wss://127.0.0.1:${port}` }), 'Lost');
		everyone.push(page);
		const error = page.page.locator('[data-testid="error"][data-kind="server-unreachable"]');
		await error.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		await expect(error.textContent()).resolves.toContain('Cannot reach the meeting server');
	});

	it('denied camera and microphone say so, and the user can still join without them', async () => {
		// A browser that really refuses: no fake "allow" UI, no granted permissions.
		const strict = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--use-fake-device-for-media-stream', '--ignore-certificate-errors'],
		});
		try {
			const context = await strict.newContext({ ignoreHTTPSErrors: true });
			const page = await context.newPage();
			await page.goto(`${server.url}/?roomId=e2e-denied`);
			const error = page.locator('[data-testid="error"][data-kind="permission-denied"]');
			await error.waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(error.textContent()).resolves.toContain('blocked');
			// The form turned camera and microphone off by itself; joining works without them.
			await expect(page.locator('[data-testid="join-camera-on"]').isChecked()).resolves.toBe(false);
			await page.locator('[data-testid="name-input"]').fill('Without devices');
			await page.locator('[data-testid="join-button"]').click();
			await page.locator('[data-testid="meeting-room"][data-session="joined"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
			await expect(page.locator('[data-testid="self-tile"]').getAttribute('data-camera-off')).resolves.toBe('true');
			await expect(page.locator('[data-testid="self-tile"]').getAttribute('data-mic-muted')).resolves.toBe('true');
			// Unmuting asks again, is refused again, and says so in the room.
			await page.locator('[data-testid="toggle-mic"]').click();
			await page.locator('[data-testid="error"][data-kind="permission-denied"]').waitFor({ timeout: SIGNAL_TIMEOUT_MS });
		} finally {
			await strict.close();
		}
	});
});
