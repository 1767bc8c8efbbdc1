import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

const require = createRequire(import.meta.url);

/**
 * The embedded AWS stand-ins of the local platform: dynalite (DynamoDB), s3rver (S3) and
 * aws-ses-v2-local (SES), all on loopback. With `dir`, DynamoDB and S3 data survive restarts.
 */
export interface StandIns {
  endpoints: { dynamodb: string; s3: string; ses: string };
  close(): Promise<void>;
}

function listen(server: { listen: (port: number, host: string, cb: (err?: Error) => void) => unknown }, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = server as unknown as Server;
    s.once?.('error', reject);
    server.listen(port, host, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

export async function startStandIns(opts: { dir?: string; host?: string; ports?: { dynamodb?: number; s3?: number; ses?: number }; buckets?: string[] } = {}): Promise<StandIns> {
  const host = opts.host ?? '127.0.0.1';
  const closers: Array<() => Promise<void>> = [];
  try {
    // DynamoDB: dynalite, persisted with LevelDB under dir/dynamodb.
    const dynalite = require('dynalite') as (o: Record<string, unknown>) => Server;
    if (opts.dir) mkdirSync(`${opts.dir}/dynamodb`, { recursive: true });
    const ddb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(opts.dir ? { path: `${opts.dir}/dynamodb` } : {}) });
    await listen(ddb as never, opts.ports?.dynamodb ?? 0, host);
    closers.push(() => new Promise((r) => ddb.close(() => r())));
    const ddbPort = (ddb.address() as AddressInfo).port;

    // S3: s3rver, files under dir/s3 (or a temp dir).
    const S3rver = require('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<AddressInfo>; close(): Promise<void> };
    const s3Dir = opts.dir ? `${opts.dir}/s3` : `${require('node:os').tmpdir()}/cpaas-s3-${process.pid}-${Date.now()}`;
    mkdirSync(s3Dir, { recursive: true });
    const s3 = new S3rver({ address: host, port: opts.ports?.s3 ?? 0, silent: true, directory: s3Dir, configureBuckets: (opts.buckets ?? []).map((name) => ({ name, configs: [] })) });
    const s3Addr = await s3.run();
    closers.push(() => s3.close());

    // SES: aws-ses-v2-local (mail readable at GET /store).
    const sesMod = require('aws-ses-v2-local') as ((o: Record<string, unknown>) => Promise<Server>) & { default?: (o: Record<string, unknown>) => Promise<Server> };
    const sesStart = sesMod.default ?? sesMod;
    const ses = await sesStart({ host, port: opts.ports?.ses ?? 0 });
    closers.push(() => new Promise((r) => ses.close(() => r())));
    const sesPort = (ses.address() as AddressInfo).port;

    return {
      endpoints: { dynamodb: `http://${host}:${ddbPort}`, s3: `http://${host}:${s3Addr.port}`, ses: `http://${host}:${sesPort}` },
      async close() {
        for (const c of closers.reverse()) await c().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
