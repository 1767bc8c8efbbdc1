/**
 * The SIP side of `npm start`: rtpengine (userspace) when installed, the project's SIP engine in-process on
 * UDP+TCP (default 127.0.0.1:5060), the media agent and the SBC app in-process against them. Called from
 * runtime/local/platform.ts; returns component lines for its report and one stop function.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Logger } from '../core/logging.js';
import { systemClock } from '../core/clock.js';
import { startSipEngine } from '../sip-engine/index.js';
import { startDaemon, type Daemon } from '../local/daemon.js';
import { hasExecutable } from '../local/which.js';
import { startMediaAgent } from '../media-agent/agent.js';
import { buildSbcApp, connectSrf, sipHostFromHostports } from './app.js';
import { createSipRepository } from './repository.js';
import { RtpEngineNode } from './media/rtpengine.js';
import { ngPing } from './media/ng-ping.js';
// --- recording (docs/recordings.md): rtpengine pcap → the media agent's pipeline → s3rver → webhook ---
import { mkdirSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { Db } from '../core/storage/db.js';
import { RecordingRepository } from '../core/storage/recordings.js';
import { TenantRepository } from '../core/storage/tenants.js';
import { WebhookSender } from '../core/webhooks.js';
import { RecordingPipeline } from '../media-agent/recordings/pipeline.js';
// --- end recording ---
// --- voice (docs/voice.md) ---
import type { VoicemailSink } from './voice/contracts.js';
import type { VoiceOptions } from './voice/engine.js';
// --- end voice ---
import { buildVoiceFeatures } from './features.js'; // aws-wiring: voice, conferences, media library (shared with main.ts)
import { securityDeps } from './security/wiring.js'; // security (docs/security.md)
import { createSbcMetrics } from './control/metrics.js'; // security

export interface LocalSipOptions {
  doc: DynamoDBDocumentClient;
  tableName: string;
  log: Logger;
  sip?: { host: string; port: number };
  rtpengine?: { host: string; ngPort: number; httpPort: number; minPort: number; maxPort: number };
  // --- sbc-core ---
  /** UDP port (on the rtpengine host) for rtpengine's DTMF log → RFC 2833 → SIP INFO. npm start: 22225; tests that pass their own `rtpengine` ports: off unless given. */
  dtmfLogPort?: number;
  // --- end sbc-core ---
  control?: { host: string; port: number };
  /** The WebRTC ⇄ SIP gateway (docs/gateway.md): the secret shared with signalling and signalling's URL. */
  gateway?: { secret: string; signallingUrl: string };
  /**
   * Recording (docs/recordings.md): rtpengine writes pcaps under `<dir>/rtpengine`, the media agent's pipeline spools
   * under `<dir>/spool` and uploads to `bucket`; `tenants` are recorded from the start ('*' = all), others on demand.
   */
  recordings?: { dir: string; s3: S3Client; bucket: string; tenants: string[]; announceTenants?: string[] /* consent */ };
  // --- voice (docs/voice.md): programmable voice is on in `npm start`; endpoints on rtpengine's host ---
  /** Voicemail storage for the built-in voicemail flow and `record { voicemail }` (settings() enables the flow). */
  voicemail?: VoiceOptions['voicemail'] & VoicemailSink;
  /** RTP ports of the voice endpoints (default 41000–41999). */
  voiceRtp?: { minPort: number; maxPort: number };
  // --- end voice ---
}

export interface LocalComponent { name: string; running: boolean; detail: string; fix?: string }

export async function startLocalSipSide(o: LocalSipOptions): Promise<{ components: LocalComponent[]; stop(): Promise<void> }> {
  const sip = o.sip ?? { host: '127.0.0.1', port: 5060 };
  const rtp = o.rtpengine ?? { host: '127.0.0.1', ngPort: 22222, httpPort: 22224, minPort: 40000, maxPort: 40999 };
  // --- sbc-core ---
  const dtmfLogPort = o.dtmfLogPort ?? (o.rtpengine ? undefined : 22225);
  const dtmfLog = dtmfLogPort ? `${rtp.host}:${dtmfLogPort}` : undefined;
  // --- end sbc-core ---
  const control = o.control ?? { host: '127.0.0.1', port: 8090 };
  const log = o.log.child({ component: 'sip' });
  const stops: Array<() => Promise<void>> = [];
  const components: LocalComponent[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err: unknown) => log.warn({ err }, 'stopping a SIP component failed'));
  };
  try {
    const repo = createSipRepository({ doc: o.doc, tableName: o.tableName, clock: systemClock });
    let rtpengine: Daemon | undefined;
    const recDir = o.recordings ? join(o.recordings.dir, 'rtpengine') : undefined;
    if (recDir) mkdirSync(recDir, { recursive: true });
    if (hasExecutable('rtpengine')) {
      try {
        rtpengine = await startDaemon({
          name: 'rtpengine', command: 'rtpengine', log,
          args: ['--config-file=none', '--table=-1', `--interface=${rtp.host}`, `--listen-ng=${rtp.host}:${rtp.ngPort}`,
            `--listen-http=${rtp.host}:${rtp.httpPort}`, `--port-min=${rtp.minPort}`, `--port-max=${rtp.maxPort}`, '--foreground', '--log-stderr',
            ...(recDir ? ['--recording-method=pcap', `--recording-dir=${recDir}`, '--delete-delay=0'] : []),
            ...(dtmfLog ? [`--dtmf-log-dest=${dtmfLog}`] : [])], // sbc-core: RFC 2833 → SIP INFO
          ready: () => ngPing(rtp.host, rtp.ngPort),
        });
        stops.push(() => rtpengine!.stop());
        components.push({ name: 'rtpengine (media relay)', running: true, detail: `ng ${rtp.host}:${rtp.ngPort}, media ${rtp.minPort}-${rtp.maxPort}, http://${rtp.host}:${rtp.httpPort}/metrics` });
      } catch (err) {
        components.push({ name: 'rtpengine (media relay)', running: false, detail: `failed to start: ${(err as Error).message.split('\n')[0]}`, fix: `check that UDP ${rtp.ngPort} and ${rtp.minPort}-${rtp.maxPort} are free` });
      }
    } else {
      components.push({ name: 'rtpengine (media relay)', running: false, detail: 'not installed (SIP calls get 503)', fix: 'sudo apt-get install rtpengine-daemon' });
    }

    const secret = randomBytes(16).toString('hex');
    const engine = await startSipEngine({
      sip: [{ transport: 'udp', host: sip.host, port: sip.port }, { transport: 'tcp', host: sip.host, port: sip.port }],
      admin: { host: '127.0.0.1', port: 0, secret },
      log: log.child({ component: 'sip-engine' }),
    });
    stops.push(() => engine.close());

    if (rtpengine) {
      const node = await RtpEngineNode.connect({ id: `local-${hostname()}`, target: { host: rtp.host, port: rtp.ngPort }, localAddress: rtp.host, timeoutMs: 1000, log });
      const agent = await startMediaAgent({ node, repo, nodeId: node.id, advertise: { host: rtp.host, port: rtp.ngPort }, capacity: Math.floor((rtp.maxPort - rtp.minPort + 1) / 4), heartbeatSeconds: 5, log: log.child({ component: 'media-agent' }) });
      stops.push(async () => {
        await agent.stop();
        node.close();
      });
      components.push({ name: 'media agent', running: true, detail: `heartbeating ${node.id} into the media-node registry every 5 s` });
      // --- recording (docs/recordings.md) ---
      if (o.recordings && recDir) {
        const rc = o.recordings;
        const db = new Db(o.doc, o.tableName, systemClock);
        const webhooks = new WebhookSender({ log });
        const pipeline = new RecordingPipeline({
          recordingDir: recDir, spoolDir: join(rc.dir, 'spool'), s3: rc.s3, bucket: rc.bucket,
          recordings: new RecordingRepository(db), tenants: new TenantRepository(db), webhooks,
          log: log.child({ component: 'recordings' }), nodeId: node.id, scanIntervalMs: 500,
        });
        await pipeline.start();
        stops.push(async () => {
          await pipeline.stop();
          webhooks.close();
        });
        components.push({ name: 'recordings', running: true, detail: `rtpengine pcap → WAV → s3 bucket ${rc.bucket} (spool ${join(rc.dir, 'spool')}); recorded from the start: ${rc.tenants.length ? rc.tenants.join(',') : 'none (POST /v1/calls/{id}/recording on the SBC control API)'}` });
      }
      // --- end recording ---
    }

    const { srf, hostports } = await connectSrf({ host: '127.0.0.1', port: engine.adminPort, secret, log });
    stops.push(async () => srf.disconnect());
    // --- aws-wiring: voice (applications, webhook secrets, voicemail, `record` → recordings), conference.* webhooks,
    // media library; the same construction as main.ts (features.ts) ---
    const features = buildVoiceFeatures({
      doc: o.doc, tableName: o.tableName, clock: systemClock, log, nodeId: `local-${hostname()}`,
      rtp: { host: rtp.host, minPort: o.voiceRtp?.minPort ?? 41000, maxPort: o.voiceRtp?.maxPort ?? 41999 },
      ...(o.recordings ? { storage: { s3: o.recordings.s3, bucket: o.recordings.bucket }, recordDir: join(o.recordings.dir, 'voice') } : {}),
      ...(o.voicemail ? { voicemail: o.voicemail } : {}),
    });
    stops.push(async () => features.close());
    // --- end aws-wiring ---
    // --- security (docs/security.md): tenant lists/policies from the table, shared bans, security.alert webhooks, capture ---
    const sbcMetrics = createSbcMetrics();
    const sec = securityDeps({
      security: { capture: { host: rtp.host, dir: o.recordings ? join(o.recordings.dir, 'captures') : '/tmp/cpaas-captures' } }, doc: o.doc, tableName: o.tableName, clock: systemClock, log,
      metrics: sbcMetrics.registry, tenantByDomain: (d) => repo.tenantByDomain(d),
    });
    stops.push(async () => sec.close());
    // --- end security ---
    const sbc = await buildSbcApp({
      config: {
        instanceId: `local-${hostname()}`,
        cacheSeconds: 2,
        rtpengine: { ngPort: rtp.ngPort, mode: 'registry', fallback: [], localAddress: rtp.host, timeoutMs: 2000, refreshSeconds: 5, ...(dtmfLog ? { dtmfLogListen: dtmfLog } : {}) /* sbc-core */ },
        control,
        limits: { maxConcurrentCalls: 200, maxCallsPerTenant: 200, ringTimeoutSeconds: 60, maxCallSeconds: 14_400, gatewayTimeoutSeconds: 5 },
        registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 600, maxContacts: 5, nonceTtlSeconds: 300 },
        health: { optionsIntervalSeconds: 30, failuresToDown: 2 },
      },
      srf, localHost: sipHostFromHostports(hostports), repo, log, clock: systemClock, nonceSecret: secret,
      ...(o.gateway ? { gateway: { secret: o.gateway.secret, signallingUrl: o.gateway.signallingUrl, ringTimeoutSeconds: 30, transcode: 'prefer-opus' as const, allowExternalSipUris: false } } : {}),
      ...(o.recordings ? { recording: { tenants: o.recordings.tenants, ...(o.recordings.announceTenants ? { announceTenants: o.recordings.announceTenants } : {}) } } : {}), // consent: announceTenants
      // --- media-services (docs/recordings.md § Playback): media library in the recordings bucket, caches beside the spool ---
      ...(o.recordings && features.library ? { mediaServices: { library: features.library, cacheDir: join(o.recordings.dir, 'media-cache'), tmpDir: join(o.recordings.dir, 'play'), allowPrivateUrls: true } } : {}),
      // --- end media-services ---
      // --- voice (docs/voice.md) ---
      voice: features.voice, // built by features.ts (aws-wiring)
      // --- end voice ---
      conferences: features.conferences, // conferences (docs/conferences.md), built by features.ts
      metrics: sbcMetrics, ...sec.deps, // security
    });
    stops.push(() => sbc.close());
    components.push({
      name: 'SIP (engine + SBC)',
      running: true,
      detail: `sip:${sip.host}:${sip.port} udp+tcp (registrar, calls), status http://${sbc.controlAddress?.host}:${sbc.controlAddress?.port}/v1/status`,
    });
    if (o.gateway) components.push({ name: 'WebRTC ⇄ SIP gateway', running: !!rtpengine, detail: rtpengine ? 'browsers dial SIP users/numbers (demo call page), SIP calls reach browser identities' : 'needs rtpengine' });
    return { components, stop };
  } catch (err) {
    await stop();
    components.push({ name: 'SIP (engine + SBC)', running: false, detail: `failed to start: ${(err as Error).message.split('\n')[0]}`, fix: `check that ${sip.host}:${sip.port} (udp/tcp) is free` });
    return { components, stop: async () => undefined };
  }
}
