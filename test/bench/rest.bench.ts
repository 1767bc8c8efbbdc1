/**
 * REST benchmark: the platform over the embedded stand-ins vs a bare fastify route, same machine, same run.
 *
 *   NODE_OPTIONS=--openssl-legacy-provider npx tsx test/bench/rest.bench.ts [--duration 10] [--json out.json] [--fixed-only]
 *
 * Load: autocannon (keep-alive, 10 connections) on a worker thread, so the load generator does not share the
 * event loop with the server under test. Mixed stream: POST /v1/rooms then POST /v1/tokens, alternating.
 *  (a) max rate: req/s and p50/p99 latency;  (b) fixed 200 req/s (open loop, own generator below): p99 latency.
 * Also measured: dynalite alone (PutItem + GetItem at the same concurrency), to show where the time goes.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import autocannon from 'autocannon';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startTestPlatform } from '../support/platform.js';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '10' }, json: { type: 'string' }, 'fixed-only': { type: 'boolean', default: false } } });
const DURATION = Number(args.duration);
const CONNECTIONS = 10;
const FIXED_RATE = 200;

interface Figures {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function load(url: string, requests: autocannon.Request[], headers: Record<string, string>): Promise<Figures> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    workers: 1,
    headers: { 'content-type': 'application/json', ...headers },
    requests,
  });
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

/**
 * Open-loop fixed-rate load on a worker thread: request k is due at start + k/rate and its latency is measured
 * from that due time, so a slow server cannot hide its queueing (no coordinated omission). autocannon's
 * `overallRate` is not used for this: it sends each second's quota in a burst at the start of the second.
 */
const FIXED_RATE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, rate, durationMs, requests, headers } = workerData;
const u = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const latencies = [];
let errors = 0, non2xx = 0, inflight = 0, k = 0, done = false;
const interval = 1000 / rate;
const start = performance.now() + 50;
function finish() {
  if (!done || inflight > 0) return;
  agent.destroy();
  parentPort.postMessage({ latencies, errors, non2xx, sent: k });
}
function send(due) {
  const r = requests[k % requests.length];
  inflight++;
  const req = http.request({ host: u.hostname, port: u.port, path: r.path, method: r.method, agent,
    headers: { ...headers, 'content-length': Buffer.byteLength(r.body) } }, (res) => {
    res.resume();
    res.on('end', () => { latencies.push(performance.now() - due); if (res.statusCode >= 300) non2xx++; inflight--; finish(); });
  });
  req.on('error', () => { errors++; inflight--; finish(); });
  req.end(r.body);
}
function tick() {
  const now = performance.now();
  while (start + k * interval <= now && k * interval < durationMs) { send(start + k * interval); k++; }
  if (k * interval < durationMs) setTimeout(tick, Math.max(0, start + k * interval - performance.now()));
  else { done = true; finish(); }
}
setTimeout(tick, 50);
`;

async function fixedRate(url: string, requests: autocannon.Request[], headers: Record<string, string>, rate: number): Promise<Figures> {
  const out = await new Promise<{ latencies: number[]; errors: number; non2xx: number; sent: number }>((resolve, reject) => {
    const w = new Worker(FIXED_RATE_WORKER, {
      eval: true,
      workerData: { url, rate, durationMs: DURATION * 1000, requests, headers: { 'content-type': 'application/json', ...headers } },
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const sorted = [...out.latencies].sort((x, y) => x - y);
  const pct = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
  return { reqPerSec: out.latencies.length / DURATION, p50: pct(0.5), p99: pct(0.99), errors: out.errors, non2xx: out.non2xx, total: out.sent };
}

async function main(): Promise<void> {
  const platform = await startTestPlatform({ overrides: { limits: { restRequestsPerMinutePerTenant: 1_000_000_000 } } });
  const bare = Fastify({ logger: false });
  bare.post('/bare', async (req, reply) => reply.code(201).send({ id: `rm_${Date.now()}`, echo: req.body }));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { apiKey } = await platform.createTenant('bench');
    const platformRequests: autocannon.Request[] = [
      { method: 'POST', path: '/v1/rooms', body: JSON.stringify({ name: 'bench room' }) },
      { method: 'POST', path: '/v1/tokens', body: JSON.stringify({ identity: 'bench-user', grants: { rooms: ['*'] } }) },
    ];
    const bareRequests: autocannon.Request[] = [
      { method: 'POST', path: '/bare', body: JSON.stringify({ name: 'bench room' }) },
      { method: 'POST', path: '/bare', body: JSON.stringify({ identity: 'bench-user', grants: { rooms: ['*'] } }) },
    ];
    const auth = { authorization: `Bearer ${apiKey}` };

    // warm-up (JIT, connection pools, dynalite's first writes)
    await autocannon({ url: platform.baseUrl, connections: 4, duration: 2, headers: { 'content-type': 'application/json', ...auth }, requests: platformRequests });
    await autocannon({ url: bareUrl, connections: 4, duration: 2, headers: { 'content-type': 'application/json' }, requests: bareRequests });

    if (args['fixed-only']) {
      // repeated fixed-rate runs only, to see the spread of p99 on a shared machine
      for (let i = 0; i < 3; i++) {
        const b = await fixedRate(bareUrl, bareRequests, {}, FIXED_RATE);
        const f = await fixedRate(platform.baseUrl, platformRequests, auth, FIXED_RATE);
        console.log(`run ${i + 1}: ${FIXED_RATE} req/s  bare p50 ${b.p50} p99 ${b.p99} ms   platform p50 ${f.p50} p99 ${f.p99} ms  (${f.non2xx} non-2xx, ${f.errors} errors)`);
      }
      return;
    }
    const bareMax = await load(bareUrl, bareRequests, {});
    const platMax = await load(platform.baseUrl, platformRequests, auth);
    // the same stack without a storage write: POST /v1/tokens only (auth, rate limit, validation, JWT)
    const tokensMax = await load(platform.baseUrl, [platformRequests[1]!], auth);
    const bareFixed = await fixedRate(bareUrl, bareRequests, {}, FIXED_RATE);
    const platFixed = await fixedRate(platform.baseUrl, platformRequests, auth, FIXED_RATE);

    // dynalite alone: one PutItem + one GetItem per "request", CONNECTIONS in flight, same duration
    const doc = platform.aws.doc;
    const table = platform.config.tableName;
    let ops = 0;
    const until = Date.now() + DURATION * 1000;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, c) => {
        for (let i = 0; Date.now() < until; i++) {
          await doc.send(new PutCommand({ TableName: table, Item: { pk: `T#bench#RAW${c}`, sk: String(i), name: 'bench room', status: 'open' } }));
          await doc.send(new GetCommand({ TableName: table, Key: { pk: 'TENANT#bench', sk: 'META' }, ConsistentRead: true }));
          ops++;
        }
      }),
    );
    const dynalitePairsPerSec = ops / DURATION;

    const ratio = platMax.reqPerSec / bareMax.reqPerSec;
    const report = {
      when: new Date().toISOString(),
      node: process.version,
      durationSeconds: DURATION,
      connections: CONNECTIONS,
      bare: { max: bareMax, fixed200: bareFixed },
      platform: { max: platMax, fixed200: platFixed, tokensOnlyMax: tokensMax },
      ratio,
      dynalitePutGetPairsPerSec: dynalitePairsPerSec,
      targets: { ratioAtLeast: 0.3, p99AtFixedRateBelowMs: 20 },
      pass: { ratio: ratio >= 0.3, p99: platFixed.p99 < 20 },
    };
    const row = (name: string, f: Figures) =>
      `${name.padEnd(34)} ${f.reqPerSec.toFixed(0).padStart(8)} req/s  p50 ${String(f.p50).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms  (${f.total} req, ${f.non2xx} non-2xx, ${f.errors} errors)`;
    console.log(`\nREST benchmark: ${DURATION} s per run, ${CONNECTIONS} keep-alive connections, Node ${process.version}`);
    console.log(row('bare fastify, max rate', bareMax));
    console.log(row('platform rooms+tokens, max rate', platMax));
    console.log(row('platform tokens only, max rate', tokensMax));
    console.log(row(`bare fastify, ${FIXED_RATE} req/s`, bareFixed));
    console.log(row(`platform rooms+tokens, ${FIXED_RATE} req/s`, platFixed));
    console.log(`ratio platform/bare (max rate): ${ratio.toFixed(3)}  (target >= 0.3: ${report.pass.ratio ? 'met' : 'MISSED'})`);
    console.log(`ratio tokens-only/bare (max rate): ${(tokensMax.reqPerSec / bareMax.reqPerSec).toFixed(3)}`);
    console.log(`p99 at ${FIXED_RATE} req/s: ${platFixed.p99} ms  (target < 20 ms: ${report.pass.p99 ? 'met' : 'MISSED'})`);
    console.log(`dynalite alone: ${dynalitePairsPerSec.toFixed(0)} PutItem+GetItem pairs/s at ${CONNECTIONS} in flight`);
    if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
  } finally {
    await bare.close();
    await platform.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
