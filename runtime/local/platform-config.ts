import type { SignallingConfig } from '../signalling/config.js';
import { parseConfig } from '../core/config/load.js';
import { SignallingConfig as SignallingConfigSchema } from '../signalling/config.js';

/** A signalling config for the embedded stand-ins (local platform and tests). */
export function localSignallingConfig(input: {
  endpoints: { dynamodb: string; s3: string; ses: string };
  secrets: { adminKey: string; jwtSigningKey: string; turnSecret: string };
  port?: number;
  host?: string;
  turnUrls?: string[];
  publicUrl?: string;
  staticDir?: string;
  logLevel?: SignallingConfig['logLevel'];
  redisUrl?: string;
  overrides?: Record<string, unknown>;
}): SignallingConfig {
  return parseConfig(
    SignallingConfigSchema,
    {
      logLevel: input.logLevel ?? 'info',
      http: { host: input.host ?? '127.0.0.1', port: input.port ?? 8080, ...(input.publicUrl ? { publicUrl: input.publicUrl } : {}), ...(input.staticDir ? { staticDir: input.staticDir } : {}) },
      aws: { region: 'us-east-1', endpoints: input.endpoints, localCredentials: true },
      tableName: 'cpaas-local',
      secrets: { adminKey: { value: input.secrets.adminKey }, jwtSigningKey: { value: input.secrets.jwtSigningKey }, turnSecret: { value: input.secrets.turnSecret } },
      turn: { urls: input.turnUrls ?? [], ttlMinutes: 60 },
      ...(input.redisUrl ? { redisUrl: input.redisUrl } : {}),
      ...(input.overrides ?? {}),
    },
    'local signalling config',
  ) as SignallingConfig;
}
