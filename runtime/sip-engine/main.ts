/**
 * Composition root for running the engine as its own process:
 *   CPAAS_CONFIG=/etc/cpaas/sip-engine.json tsx runtime/sip-engine/main.ts
 * Env overrides: SIP_ENGINE_SECRET, SIP_ENGINE_ADMIN_PORT, SIP_ENGINE_PUBLIC_ADDRESS, CPAAS_LOG_LEVEL,
 * SIP_ENGINE_TLS_KEY / SIP_ENGINE_TLS_CERT (inline PEM or a file path; on ECS, a Secrets Manager secret
 * injected as an environment variable).
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ensureSelfSignedCert } from './certs.js';
import { startSipEngine } from './index.js';
import type { TlsCredentials } from './transport.js';

const Listen = Type.Object({
  transport: Type.Union([Type.Literal('udp'), Type.Literal('tcp'), Type.Literal('tls'), Type.Literal('ws'), Type.Literal('wss')]),
  host: Type.String({ minLength: 1 }),
  /** Default 5060 (udp/tcp), 5061 (tls), 8080 (ws), 8443 (wss). */
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
}, { additionalProperties: false });

/** PEM key and certificate: inline (`-----BEGIN …`) or a file path; or a self-signed pair for local use. */
const Tls = Type.Object({
  key: Type.Optional(Type.String({ minLength: 1 })),
  cert: Type.Optional(Type.String({ minLength: 1 })),
  ca: Type.Optional(Type.String({ minLength: 1 })),
  rejectUnauthorized: Type.Optional(Type.Boolean()),
  /** Generate (or reuse) a self-signed pair in this directory when key/cert are not given. */
  selfSignedDir: Type.Optional(Type.String({ minLength: 1 })),
  selfSignedHosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
}, { additionalProperties: false });

export const SipEngineConfig = Type.Object({
  sip: Type.Array(Listen, {
    minItems: 1,
    default: [{ transport: 'udp', host: '0.0.0.0', port: 5060 }, { transport: 'tcp', host: '0.0.0.0', port: 5060 }],
  }),
  admin: Type.Object({
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 9022 }),
    secret: Type.String({ minLength: 8 }),
  }, { additionalProperties: false }),
  cdrs: Type.Boolean({ default: false }),
  publicAddress: Type.Optional(Type.String({ minLength: 1 })),
  tls: Type.Optional(Tls),
  logLevel: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info' }),
}, { additionalProperties: false });
export type SipEngineConfig = Static<typeof SipEngineConfig>;

/** Reads file + env overrides, validates, and lists every bad field at once. */
export function loadConfig(env: NodeJS.ProcessEnv): SipEngineConfig {
  const file = env.CPAAS_CONFIG;
  const raw: Record<string, any> = file ? JSON.parse(readFileSync(file, 'utf8')) : {};
  raw.admin = { ...(raw.admin ?? {}) };
  if (env.SIP_ENGINE_SECRET) raw.admin.secret = env.SIP_ENGINE_SECRET;
  if (env.SIP_ENGINE_ADMIN_PORT) raw.admin.port = env.SIP_ENGINE_ADMIN_PORT;
  if (env.SIP_ENGINE_PUBLIC_ADDRESS) raw.publicAddress = env.SIP_ENGINE_PUBLIC_ADDRESS;
  if (env.CPAAS_LOG_LEVEL) raw.logLevel = env.CPAAS_LOG_LEVEL;
  if (env.SIP_ENGINE_TLS_KEY) raw.tls = { ...(raw.tls ?? {}), key: env.SIP_ENGINE_TLS_KEY };
  if (env.SIP_ENGINE_TLS_CERT) raw.tls = { ...(raw.tls ?? {}), cert: env.SIP_ENGINE_TLS_CERT };
  const value = Value.Convert(SipEngineConfig, Value.Default(SipEngineConfig, raw));
  const problems = Value.Errors(SipEngineConfig, value).map((e) => `${e.instancePath || '/'} ${e.message}`);
  const t = (value as SipEngineConfig).tls;
  const secure = (value as SipEngineConfig).sip?.some?.((l) => l.transport === 'tls' || l.transport === 'wss');
  if (t && (t.key === undefined) !== (t.cert === undefined)) problems.push('/tls key and cert go together');
  if (secure && !(t?.key || t?.selfSignedDir)) problems.push('/tls tls/wss listeners need tls.key + tls.cert or tls.selfSignedDir');
  if (problems.length) throw new Error(`Invalid sip-engine config:\n  ${problems.join('\n  ')}`);
  return Object.freeze(value as SipEngineConfig);
}

const pem = (v: string): string => (v.trimStart().startsWith('-----BEGIN') ? v : readFileSync(v, 'utf8'));

/** Resolves the `tls` config: inline PEM or files, else a self-signed pair for local use. */
export async function resolveTls(t: SipEngineConfig['tls']): Promise<TlsCredentials | undefined> {
  if (!t) return undefined;
  const common = { ...(t.ca ? { ca: pem(t.ca) } : {}), ...(t.rejectUnauthorized !== undefined ? { rejectUnauthorized: t.rejectUnauthorized } : {}) };
  if (t.key && t.cert) return { key: pem(t.key), cert: pem(t.cert), ...common };
  if (t.selfSignedDir) {
    const pair = await ensureSelfSignedCert({ dir: t.selfSignedDir, hosts: t.selfSignedHosts });
    return { key: pair.key, cert: pair.cert, ...common };
  }
  return undefined;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = pino({ level: config.logLevel, base: { service: 'sip-engine' } });
  const { tls: tlsConfig, ...rest } = config;
  const engine = await startSipEngine({ ...rest, tls: await resolveTls(tlsConfig), log });
  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    engine.close().then(() => { process.exitCode = 0; }, (err: unknown) => {
      log.error({ err }, 'error while closing');
      process.exitCode = 1;
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/runtime\//, '/runtime/'))) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
