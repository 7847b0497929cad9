/** HTTPS requests to the test server (self-signed certificate). */
import { request } from 'node:https';
import type { SfuServer } from '../../server/server.js';
import type { HttpApi } from '../../server/signalling/protocol.js';
import { TEST_API_KEY } from './server.js';

export type HttpResult<T = Record<string, unknown>> = { status: number; json: T & { error?: string }; text: string; headers: Record<string, string | string[] | undefined> };

/**
 * One request. `authorization` is the header to send: by default the test
 * server's API key; `null` sends none.
 */
export function http<T = Record<string, unknown>>(server: SfuServer, method: string, path: string, body?: unknown, { authorization = `Bearer ${TEST_API_KEY}` }: { authorization?: string | null } = {}): Promise<HttpResult<T>> {
	const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
	const headers: Record<string, string> = { 'Content-Type': 'application/json' };
	if (authorization !== null) headers.Authorization = authorization;
	return new Promise((resolve, reject) => {
		const req = request(`${server.url}${path}`, { method, rejectUnauthorized: false, headers }, (res) => {
			let text = '';
			res.on('data', (chunk) => (text += chunk));
			res.on('end', () => {
				let json: T & { error?: string };
				try {
					json = JSON.parse(text);
				} catch {
					json = {} as T & { error?: string };
				}
				resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
			});
		});
		req.on('error', reject);
		if (payload !== undefined) req.write(payload);
		req.end();
	});
}

/** POST to the HTTP API, typed by the API's response; fails the test on any status but 200. */
export async function post<K extends keyof HttpApi>(server: SfuServer, path: string, body: unknown): Promise<HttpApi[K]['response']> {
	const result = await http<HttpApi[K]['response']>(server, 'POST', path, body);
	if (result.status !== 200) throw new Error(`POST ${path}: ${result.status} ${result.text}`);
	return result.json;
}
