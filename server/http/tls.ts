/**
 * The HTTPS certificate: the configured one, or a self-signed one generated
 * once and kept (so browsers that accepted it keep accepting it).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

export type TlsMaterial = { cert: string; key: string; selfSigned: boolean };

const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

function usable(certPem: string): boolean {
	try {
		return new Date(new X509Certificate(certPem).validTo).getTime() - Date.now() > RENEW_BEFORE_MS;
	} catch {
		return false;
	}
}

export async function loadTls(tls: Config['http']['tls'], logger: Logger): Promise<TlsMaterial> {
	if (tls.certFile !== '') {
		try {
			return { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8'), selfSigned: false };
		} catch (error) {
			throw new Error(`cannot read the TLS certificate (http.tls.certFile / http.tls.keyFile): ${(error as Error).message}`);
		}
	}
	const certPath = join(tls.selfSignedDir, 'cert.pem');
	const keyPath = join(tls.selfSignedDir, 'key.pem');
	if (existsSync(certPath) && existsSync(keyPath)) {
		const cert = readFileSync(certPath, 'utf8');
		if (usable(cert)) return { cert, key: readFileSync(keyPath, 'utf8'), selfSigned: true };
	}
	const notAfterDate = new Date(Date.now() + 365 * 24 * 3600 * 1000);
	const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
		keyType: 'ec',
		curve: 'P-256',
		algorithm: 'sha256',
		notAfterDate,
		extensions: [
			{ name: 'basicConstraints', cA: false },
			{ name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
			{ name: 'extKeyUsage', serverAuth: true },
			{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
		],
	});
	mkdirSync(tls.selfSignedDir, { recursive: true });
	writeFileSync(keyPath, pems.private, { mode: 0o600 });
	writeFileSync(certPath, pems.cert);
	logger.warn({ event: 'tls-self-signed', certFile: certPath }, 'no TLS certificate configured (http.tls.certFile): generated a self-signed one for localhost');
	return { cert: pems.cert, key: pems.private, selfSigned: true };
}
