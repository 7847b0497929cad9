#!/usr/bin/env node
// Captures the RTP parameters a real Chromium sends in `produce` (through
// mediasoup-client, as the web client does) for Opus, VP8 simulcast and
// H.264, and writes them to test/fixtures/chromium-rtp-parameters.json, so
// integration tests signal with what browsers really send.
//   node scripts/capture-browser-rtp-parameters.mjs
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mediasoup from 'mediasoup';
import { chromium } from 'playwright-core';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { mediaCodecs } = await import(join(root, 'dist/server/media/codecs.js')).catch(() => {
	throw new Error('run `npm run build` first (the capture uses the server\'s codec list from dist/)');
});

const worker = await mediasoup.createWorker({ logLevel: 'error' });
const router = await worker.createRouter({ mediaCodecs });
const transport = await router.createWebRtcTransport({ listenIps: [{ ip: '127.0.0.1' }] });
const transportOptions = { id: transport.id, iceParameters: transport.iceParameters, iceCandidates: transport.iceCandidates, dtlsParameters: transport.dtlsParameters };

const dir = mkdtempSync(join(tmpdir(), 'capture-'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./entry.js"></script>');
writeFileSync(join(dir, 'entry.js'), `
import { Device } from 'mediasoup-client';
window.capture = async (routerRtpCapabilities, transportOptions) => {
	const device = new Device();
	await device.load({ routerRtpCapabilities });
	const captured = { userAgent: navigator.userAgent, rtpCapabilities: device.rtpCapabilities };
	const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720 } });
	const produceWith = async (name, options) => {
		const transport = device.createSendTransport(transportOptions);
		transport.on('connect', (_params, callback) => callback());
		transport.on('produce', ({ rtpParameters }, callback) => { captured[name] = rtpParameters; callback({ id: name }); });
		const producer = await transport.produce(options);
		producer.close();
		transport.close();
	};
	await produceWith('opus', { track: stream.getAudioTracks()[0].clone() });
	await produceWith('vp8Simulcast', {
		track: stream.getVideoTracks()[0].clone(),
		encodings: [{ scaleResolutionDownBy: 4, maxBitrate: 150000 }, { scaleResolutionDownBy: 2, maxBitrate: 500000 }, { scaleResolutionDownBy: 1, maxBitrate: 1200000 }],
		codec: device.rtpCapabilities.codecs.find((c) => c.mimeType === 'video/VP8'),
	});
	await produceWith('h264', {
		track: stream.getVideoTracks()[0].clone(),
		codec: device.rtpCapabilities.codecs.find((c) => c.mimeType === 'video/H264'),
	});
	return captured;
};
`);
await build({ root: dir, logLevel: 'warn', build: { outDir: join(dir, 'dist') }, resolve: { alias: { 'mediasoup-client': join(root, 'node_modules/mediasoup-client/lib/index.js') } } });

const { readFileSync } = await import('node:fs');
const server = createServer((req, res) => {
	const path = join(dir, 'dist', req.url === '/' ? 'index.html' : req.url);
	try {
		res.setHeader('Content-Type', path.endsWith('.js') ? 'text/javascript' : 'text/html');
		res.end(readFileSync(path));
	} catch {
		res.statusCode = 404;
		res.end();
	}
}).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

const browser = await chromium.launch({
	executablePath: '/usr/bin/chromium',
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
});
try {
	const page = await browser.newPage();
	await page.goto(`http://localhost:${server.address().port}/`);
	await page.waitForFunction(() => typeof window.capture === 'function');
	const captured = await page.evaluate(([caps, options]) => window.capture(caps, options), [router.rtpCapabilities, transportOptions]);
	const out = join(root, 'test/fixtures/chromium-rtp-parameters.json');
	writeFileSync(out, `${JSON.stringify({ capturedWith: `${captured.userAgent}; mediasoup-client ${JSON.parse(readFileSync(join(root, 'node_modules/mediasoup-client/package.json'))).version}`, ...captured, userAgent: undefined }, null, '\t')}\n`);
	process.stdout.write(`wrote ${out}\n`);
} finally {
	await browser.close();
	server.close();
	worker.close();
}
