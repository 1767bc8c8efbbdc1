import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface LocalSecrets {
  adminKey: string;
  jwtSigningKey: string;
  turnSecret: string;
  drachtioSecret: string;
  /** Shared by signalling and the SBC's WebRTC ⇄ SIP gateway (`x-cpaas-gateway-secret`, docs/gateway.md). */
  gatewaySecret: string;
}

/**
 * Secrets of the local platform: generated at first start and kept in <dataDir>/secrets.json (mode 600),
 * so tokens and keys survive restarts. An admin key given by the environment wins.
 */
export function loadOrCreateSecrets(dataDir: string, adminKeyFromEnv?: string): { secrets: LocalSecrets; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'secrets.json');
  const gen = () => randomBytes(24).toString('base64url');
  let secrets: LocalSecrets;
  let created = false;
  if (existsSync(file)) {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as LocalSecrets;
    secrets.drachtioSecret ??= gen();
    secrets.gatewaySecret ??= gen();
  } else {
    secrets = { adminKey: `adm_${gen()}`, jwtSigningKey: gen(), turnSecret: gen(), drachtioSecret: gen(), gatewaySecret: gen() };
    created = true;
  }
  if (adminKeyFromEnv) secrets.adminKey = adminKeyFromEnv;
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secrets, created };
}
