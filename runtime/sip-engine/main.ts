/**
 * Composition root for running the engine as its own process:
 *   CPAAS_CONFIG=/etc/cpaas/sip-engine.json tsx runtime/sip-engine/main.ts
 * Env overrides: SIP_ENGINE_SECRET, SIP_ENGINE_ADMIN_PORT, SIP_ENGINE_PUBLIC_ADDRESS, CPAAS_LOG_LEVEL.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { startSipEngine } from './index.js';

const Listen = Type.Object({
  transport: Type.Union([Type.Literal('udp'), Type.Literal('tcp')]),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
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
  const value = Value.Convert(SipEngineConfig, Value.Default(SipEngineConfig, raw));
  const problems = Value.Errors(SipEngineConfig, value).map((e) => `${e.instancePath || '/'} ${e.message}`);
  if (problems.length) throw new Error(`Invalid sip-engine config:\n  ${problems.join('\n  ')}`);
  return Object.freeze(value as SipEngineConfig);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = pino({ level: config.logLevel, base: { service: 'sip-engine' } });
  const engine = await startSipEngine({ ...config, log });
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
