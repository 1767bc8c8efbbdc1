/**
 * Self-signed certificate for local TLS/WSS (development and tests only; production certificates come
 * from configuration / Secrets Manager).
 *
 * Generated with the `openssl` CLI (execFile, no shell): node:crypto can create keys but not X.509
 * certificates, and no certificate library is installed; the CLI is on every dev/CI image (FACTS §1) and
 * keeps the dependency list unchanged. The pair is written into `dir` (0600 key) and reused while it is valid
 * for at least another day and covers the requested names.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedOptions {
  /** Directory for `sip-engine-key.pem` / `sip-engine-cert.pem` (created if missing). */
  dir: string;
  /** DNS names and IP addresses for subjectAltName (default localhost, 127.0.0.1, ::1). */
  hosts?: string[];
  /** Validity in days (default 365). */
  days?: number;
  /** Ignore an existing pair and generate a new one. */
  force?: boolean;
}

export interface PemPair {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

function coversHosts(cert: X509Certificate, hosts: string[]): boolean {
  const san = cert.subjectAltName ?? '';
  return hosts.every((h) => san.includes(net.isIP(h) ? `IP Address:${net.isIPv6(h) ? expandV6(h) : h}` : `DNS:${h}`));
}

/** openssl prints IPv6 SANs fully expanded without leading zeros: `0:0:0:0:0:0:0:1`. */
function expandV6(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const parts = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return parts.map((p) => (parseInt(p, 16) || 0).toString(16).toUpperCase()).join(':');
}

export async function ensureSelfSignedCert(opts: SelfSignedOptions): Promise<PemPair> {
  const hosts = opts.hosts?.length ? opts.hosts : ['localhost', '127.0.0.1', '::1'];
  for (const h of hosts) if (!/^[A-Za-z0-9.:\-*]+$/.test(h)) throw new Error(`invalid certificate host ${JSON.stringify(h)}`);
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(opts.dir, 'sip-engine-key.pem');
  const certFile = path.join(opts.dir, 'sip-engine-cert.pem');
  if (!opts.force) {
    try {
      const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
      const x = new X509Certificate(cert);
      if (Date.parse(x.validTo) > Date.now() + 86_400_000 && coversHosts(x, hosts)) return { key, cert, keyFile, certFile };
    } catch {
      // missing or unreadable: generate
    }
  }
  await rm(keyFile, { force: true });
  const san = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', String(opts.days ?? 365), '-subj', '/CN=cpaas-sip-engine (self-signed)',
    '-addext', `subjectAltName=${san}`, '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    '-keyout', keyFile, '-out', certFile,
  ], { timeout: 30_000 });
  const [key, cert] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
  return { key, cert, keyFile, certFile };
}
