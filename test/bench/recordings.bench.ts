/**
 * Recording throughput of one media node: N concurrent recorded calls with synthetic PCMU tones through a
 * real rtpengine (userspace, pcap recording), then the recording agent (its own process, as on a node)
 * converts and uploads them to s3rver and writes their metadata.
 *
 *   NODE_OPTIONS=--openssl-legacy-provider npx tsx test/bench/recordings.bench.ts [calls=20] [seconds=10] [concurrency=2] [transcode]
 *
 * `transcode`: the calls are PCMU ⇄ PCMA (B only takes PCMA; offer with `codec: { mask, transcode }` as the SBC does
 * toward a trunk with `codecs: ['PCMA']`), so the rtpengine figure includes userspace transcoding.
 *
 * Prints: rtpengine CPU while recording, agent wall time and CPU for the batch (from the agent's
 * /proc/<pid>/stat), recordings/s, audio seconds per agent CPU second, CPU ms per recorded call.
 * Loopback 127.0.5.0/24, rtpengine ng 127.0.5.1:22321, media 32000–32999 (4 ports per call: ≤ 250 calls).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStandIns } from '../../runtime/local/stand-ins.js';
import { createAwsClients } from '../../runtime/core/aws/clients.js';
import { ensureTable } from '../../runtime/core/storage/table.js';
import { Db } from '../../runtime/core/storage/db.js';
import { TenantRepository } from '../../runtime/core/storage/tenants.js';
import { RecordingRepository } from '../../runtime/core/storage/recordings.js';
import { systemClock } from '../../runtime/core/clock.js';
import { formatMetadataString } from '../../runtime/media-agent/recordings/rtpengine-files.js';
import { ngClient, recordedCall, startRecordingRtpengine } from '../integration/recordings/support.js';

const CALLS = Number(process.argv[2] ?? 20);
const SECONDS = Number(process.argv[3] ?? 10);
const CONCURRENCY = Number(process.argv[4] ?? 2);
const TRANSCODE = process.argv[5] === 'transcode';
const NG_PORT = 22321;
const TABLE = 'cpaas-bench-rec';
const BUCKET = 'cpaas-recordings';
const TICK = 100; // USER_HZ on Linux

const cpuMs = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICK; // utime + stime
};

const tmp = mkdtempSync(join(tmpdir(), 'cpaas-rec-bench-'));
const recDir = join(tmp, 'rec');
const spoolDir = join(tmp, 'spool');
const standIns = await startStandIns({ buckets: [BUCKET] });
const aws = createAwsClients({ region: 'us-east-1', endpoints: standIns.endpoints, localCredentials: true });
await ensureTable(aws.ddb, TABLE);
const db = new Db(aws.doc, TABLE, systemClock);
const tenant = await new TenantRepository(db).create({ name: 'bench' });
const rtpengine = await startRecordingRtpengine({ ngPort: NG_PORT, recDir });
let agent: ChildProcess | undefined;
try {
  const ng = await ngClient();
  // phase 1: N concurrent recorded calls
  const rtpCpu0 = cpuMs(rtpengine.pid);
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CALLS }, (_, i) =>
      new Promise((r) => setTimeout(r, (i * 20) / CALLS)).then(() =>
        recordedCall(ng, { ngPort: NG_PORT, callId: `bench-${i}@127.0.5.2`, metadata: formatMetadataString({ tenant: tenant.id, call: `ca_bench_${i}` }), seconds: SECONDS, toneA: 440, toneB: 880, transcode: TRANSCODE }),
      ),
    ),
  );
  const callWall = (Date.now() - t0) / 1000;
  const rtpCpu = cpuMs(rtpengine.pid) - rtpCpu0;
  ng.close();
  const pcaps = readdirSync(join(recDir, 'pcaps'));
  const pcapBytes = pcaps.reduce((n, f) => n + readFileSync(join(recDir, 'pcaps', f)).length, 0);

  // phase 2: the agent converts + uploads the batch
  agent = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../integration/recordings/agent-child.ts', import.meta.url)), JSON.stringify({
    recordingDir: recDir, spoolDir, endpoints: standIns.endpoints, tableName: TABLE, bucket: BUCKET, nodeId: 'bench', concurrency: CONCURRENCY, retryMaxMs: 1000,
  })], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    agent!.stdout!.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
    agent!.once('exit', (c) => reject(new Error(`agent exited ${c}`)));
  });
  const a0 = cpuMs(agent.pid!);
  const w0 = Date.now();
  for (;;) {
    const left = readdirSync(join(recDir, 'metadata')).length + readdirSync(spoolDir).filter((n) => !n.startsWith('.')).length;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const wall = (Date.now() - w0) / 1000;
  const agentCpu = cpuMs(agent.pid!) - a0;
  const recs = (await new RecordingRepository(db).list(tenant.id, {}, 100)).items;
  const wavBytes = recs.reduce((n, r) => n + r.sizeBytes, 0);
  const audio = recs.reduce((n, r) => n + r.durationSeconds, 0);

  const fmt = (n: number, d = 1) => n.toFixed(d);
  console.log(`\nRecordings benchmark: ${CALLS} concurrent calls × ${SECONDS} s, agent concurrency ${CONCURRENCY}${TRANSCODE ? ', PCMU ⇄ PCMA transcoded' : ''}`);
  console.log(`  calls: ${fmt(callWall)} s wall; rtpengine CPU while relaying + recording ${fmt(rtpCpu / 1000, 2)} s (${fmt((rtpCpu / (callWall * 1000)) * 100)} % of a core, ${fmt(rtpCpu / CALLS, 0)} ms per call)`);
  console.log(`  pcaps: ${pcaps.length} files, ${fmt(pcapBytes / 1e6)} MB`);
  console.log(`  agent: ${recs.length} recordings stored (${fmt(wavBytes / 1e6)} MB WAV, ${fmt(audio)} s of audio) in ${fmt(wall, 2)} s → ${fmt(recs.length / wall)} recordings/s, ${fmt(wavBytes / 1e6 / wall)} MB/s`);
  console.log(`  agent CPU: ${fmt(agentCpu / 1000, 2)} s → ${fmt(agentCpu / Math.max(1, recs.length), 0)} ms per recorded call, ${fmt(audio / Math.max(0.001, agentCpu / 1000), 0)} s of audio per CPU second`);
  if (recs.length !== CALLS) throw new Error(`expected ${CALLS} recordings, got ${recs.length}`);
} finally {
  agent?.kill('SIGTERM');
  await rtpengine.stop();
  aws.destroy();
  await standIns.close();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
