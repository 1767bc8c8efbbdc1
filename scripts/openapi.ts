/**
 * `npm run openapi`: writes docs/openapi.json (from the registered routes) and docs/errors.md (from
 * ERROR_CODES). test/integration/rest/openapi.test.ts fails when either file drifts from the code.
 *
 * The HTTP app is built but never listens, and no storage is touched: the AWS clients point at a
 * closed loopback port and are only constructed.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ERROR_CODES } from '../runtime/core/errors.js';
import { silentLogger } from '../runtime/core/logging.js';
import { systemClock } from '../runtime/core/clock.js';
import type { Mailer } from '../runtime/core/mail.js';
import { localSignallingConfig } from '../runtime/local/platform-config.js';
import { createServices } from '../runtime/signalling/services.js';
import { buildHttp } from '../runtime/signalling/http/server.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OPENAPI_PATH = join(ROOT, 'docs', 'openapi.json');
export const ERRORS_PATH = join(ROOT, 'docs', 'errors.md');

/** The OpenAPI document exactly as `GET /openapi.json` serves it, pretty-printed with a final newline. */
export async function renderOpenApi(): Promise<string> {
  const placeholder = 'openapi-generation-only-0000';
  const config = localSignallingConfig({
    endpoints: { dynamodb: 'http://127.0.0.1:9', s3: 'http://127.0.0.1:9', ses: 'http://127.0.0.1:9' },
    secrets: { adminKey: placeholder, jwtSigningKey: placeholder, turnSecret: placeholder },
  });
  const ddb = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mailer: Mailer = { send: async () => ({ messageId: 'unused' }) };
  const services = createServices({
    config,
    log: silentLogger,
    clock: systemClock,
    doc: DynamoDBDocumentClient.from(ddb),
    secrets: { adminKey: placeholder, jwtSigningKey: placeholder, turnSecret: placeholder },
    mailer,
  });
  const app = await buildHttp(services);
  try {
    await app.ready();
    return `${JSON.stringify(app.swagger(), null, 2)}\n`;
  } finally {
    await app.close();
    ddb.destroy();
  }
}

/** docs/errors.md: every stable error code with its HTTP and SIP status and meaning. */
export function renderErrorsMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.http} | ${e.sip} | ${e.doc} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from ERROR_CODES in runtime/core/errors.ts by `npm run openapi`; do not edit by hand. -->',
    '',
    'Every REST error response has the same body (`ErrorBody` in the OpenAPI document):',
    '',
    '```json',
    '{ "code": "INVALID_PAYLOAD", "message": "body/name must NOT have fewer than 1 characters", "field": "body/name", "retryable": false }',
    '```',
    '',
    '- `code` is stable public API: clients branch on it. Codes are never renamed or reused.',
    '- `message` is for people and may change. For `INTERNAL` it is always `Internal Server Error`; details go to the server log only.',
    '- `field` is set on validation errors and names the offending input (`body/name`, `querystring/limit`, `params/roomId`, `Idempotency-Key`).',
    '- `retryable` tells whether the same request may succeed later (rate limits, unavailable dependencies, mail failures).',
    '- socket.io acks carry the same object as `{ ok: false, error: { code, message, field?, retryable } }`; the SIP edge answers with the SIP status.',
    '',
    '| Code | HTTP | SIP | Meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  writeFileSync(OPENAPI_PATH, await renderOpenApi());
  writeFileSync(ERRORS_PATH, renderErrorsMarkdown());
  console.log(`wrote ${OPENAPI_PATH}\nwrote ${ERRORS_PATH}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
