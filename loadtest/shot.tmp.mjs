import { chromium } from 'playwright-core';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
const p = await b.newPage({ viewport: { width: 1400, height: 1100 } });
await p.goto('file://' + process.argv[2]);
await p.screenshot({ path: '/tmp/shot.png', fullPage: false, clip: { x: 0, y: Number(process.argv[3] ?? 0), width: 1400, height: 1100 } });
await b.close();
