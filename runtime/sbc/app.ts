/**
 * Builds the SBC from its dependencies (no env, no globals): INVITE admission → routing → CallSession,
 * the registrar, OPTIONS, gateway health checks, media node selection, CDRs, and the control server.
 * main.ts (AWS) and runtime/local/platform.ts (`npm start`) call `buildSbcApp`; tests do too.
 */
import Srf from 'drachtio-srf';
import type { Logger } from '../core/logging.js';
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import { AppError, toAppError } from '../core/errors.js';
import type { SipRepository } from '../core/storage/sip-types.js';
import type { SbcConfig } from './config.js';
import { withReadCache } from './repo-cache.js';
import { DigestAuthenticator } from './auth/digest.js';
import { Admitter } from './auth/admission.js';
import { CallRouter } from './routing/router.js';
import { passHeaders } from './routing/headers.js';
import { GatewayHealthMonitor } from './routing/health.js';
import { planOutbound } from './routing/lcr.js';
import { toE164, userOf } from './routing/numbers.js';
import { Registrar } from './registrar/registrar.js';
import { MediaNodePool } from './media/node-pool.js';
import { MediaSession } from './media/rtpengine.js';
import { CdrWriter } from './cdr/cdr-writer.js';
import { ControlServer } from './control/server.js';
import { createSbcMetrics, type SbcMetrics } from './control/metrics.js';
import { CallSession, type CallInfo } from './calls/call-session.js';
import type { MediaQuality } from './media/quality.js';
import { connectIdentity } from './calls/identity-call.js';
import { unavailableRinger, type IdentityRinger } from './calls/identity-ringer.js';
import type { DialTarget } from './routing/target.js';
import { DtmfEventListener, parseHostPort } from './media/dtmf-events.js'; // sbc-core: RFC 2833 → SIP INFO
// --- gateway (docs/gateway.md) ---
import { Gateway, type GatewayOptions } from './gateway/gateway.js';
import { httpNotifier, type GatewayNotifier } from './gateway/notifier.js';
// --- end gateway ---
import { RecordingPolicy, type RecordingOptions } from './recording/recording.js'; // recording (docs/recordings.md)
import { applyCallMediaPolicy, mountCallMediaServices, type MediaServicesOptions } from './media-services/index.js'; // media-services
// --- security (docs/security.md) ---
import { Value } from 'typebox/value';
import { SecurityConfig } from './security/config.js';
import { SipFirewall, createSecurityMetrics } from './security/firewall.js';
import { CallGuard, type SecurityAlert } from './security/call-guard.js';
import type { SecuritySource } from '../core/storage/security.js';
import type { BanEvent, SharedBanStore } from './security/firewall.js';
import { LiMonitor, type LiSource } from './li/monitor.js';
import { attachInterception, sipCallIdsOf } from './li/attach.js';
import { CaptureManager, SipTap } from './capture/capture.js';
import { mountCaptureRoutes } from './capture/routes.js';
import { WebhookSender } from '../core/webhooks.js';
// --- end security ---
// --- voice (docs/voice.md) ---
import { createVoiceEngine, type SbcVoiceEngine, type VoiceOptions } from './voice/engine.js';
import { voiceRoute } from './voice/sbc-glue.js';
// --- end voice ---
// --- voice-api (docs/api.md § Programmable voice) ---
import { mountVoiceRoutes } from './voice/control.js';
import { startStatusCallbacks, type StatusCallbacks } from './voice/status-callbacks.js';
// --- end voice-api ---
// --- conferences (docs/conferences.md) ---
import { ConferenceManager, type ConferenceManagerOptions } from './voice/conference/manager.js';
import { mountConferenceRoutes } from './voice/conference/control.js';
// --- end conferences ---
import { mountOwnershipForwarding, type CallOwnership } from './ownership.js'; // sbc-cluster (docs/sbc.md § Several SBC instances)

export type SbcAppConfig = Pick<SbcConfig, 'rtpengine' | 'control' | 'limits' | 'registrar' | 'health'> & { instanceId: string; carrierRealm?: string; cacheSeconds?: number; security?: Partial<SecurityConfig> /* security (docs/security.md) */ };

export interface SbcDeps {
  config: SbcAppConfig;
  /** A connected srf (see connectSrf). */
  srf: Srf;
  /** host[:port] of our SIP side as peers should see it (From of B legs). */
  localHost: string;
  repo: SipRepository;
  log: Logger;
  clock: Clock;
  /** Secret for stateless digest nonces (share it between SBC instances). */
  nonceSecret: string;
  ringer?: IdentityRinger;
  metrics?: SbcMetrics;
  // --- gateway (docs/gateway.md): the WebRTC ⇄ SIP gateway; its ringer replaces `ringer` ---
  gateway?: GatewayOptions & { signallingUrl?: string; notifier?: GatewayNotifier };
  // --- end gateway ---
  /** Recording (docs/recordings.md § SBC): tenants recorded from the start; others on demand (control API). */
  recording?: RecordingOptions;
  // --- media-services (docs/recordings.md § Playback): play sources (media library, caches), consent tone ---
  mediaServices?: MediaServicesOptions;
  // --- end media-services ---
  // --- security (docs/security.md): per-tenant lists/policies (absent = config only) and alert delivery ---
  securitySource?: SecuritySource;
  onSecurityAlert?: (a: SecurityAlert) => void;
  /** Bans shared between SBC instances (BanStore on the table), polled every pollMs. */
  sharedBans?: { store: SharedBanStore; pollMs?: number };
  onSecurityBan?: (e: BanEvent) => void;
  /** Lawful interception (admin targets; events signed with `secret`). */
  lawfulInterception?: { source: LiSource; secret: string; cacheSeconds?: number; webhooks?: WebhookSender };
  /** Per-call capture: pcaps written to `dir`; the media fork is received on `host`. */
  capture?: { dir: string; host: string; secret?: string };
  // --- end security ---
  /** Programmable voice (docs/voice.md): application numbers, originate, voicemail on no answer. */
  voice?: VoiceOptions; // voice
  /** Conferences (docs/conferences.md): event sink (tenant webhooks), limits, mixer options. */
  conferences?: Omit<ConferenceManagerOptions, 'log' | 'clock'>; // conferences
  /** sbc-cluster: live-call/conference ownership registry; control requests about others' calls are forwarded. */
  ownership?: CallOwnership;
}

export interface SbcApp {
  control: ControlServer;
  controlAddress?: { host: string; port: number };
  metrics: SbcMetrics;
  activeCalls(): CallSession[];
  /** Subscribes to call ends (with rtpengine's final counters); returns the unsubscribe function. */
  onCallEnded(cb: (info: CallInfo, quality: MediaQuality | undefined) => void): () => void;
  health: GatewayHealthMonitor;
  media: MediaNodePool;
  cdr: CdrWriter;
  /** The WebRTC ⇄ SIP gateway when configured. */
  gateway?: Gateway;
  /** The firewall and call admission control (docs/security.md). */
  security: { firewall: SipFirewall; calls: CallGuard };
  /** Programmable voice (docs/voice.md) when `deps.voice` is given. */
  voice?: SbcVoiceEngine; // voice
  /** Named audio conferences on this SBC (docs/conferences.md). */
  conferences: ConferenceManager; // conferences
  status(): { activeCalls: number; registrations: Record<string, number>; mediaNodes: ReturnType<MediaNodePool['status']> };
  close(): Promise<void>;
}

/** Connects srf to drachtio-server / the engine; resolves with the SIP hostports it reported. */
export async function connectSrf(o: { host: string; port: number; secret: string; log?: Logger }): Promise<{ srf: Srf; hostports: string }> {
  const srf = new Srf();
  const hostports = await new Promise<string>((resolve, reject) => {
    srf.once('connect', (err: Error | null, hp: string) => (err ? reject(err) : resolve(hp)));
    srf.once('error', (err: Error) => reject(err));
    srf.connect({ host: o.host, port: o.port, secret: o.secret });
  });
  // srf reconnects by itself; errors after the first connect are only logged.
  srf.on('error', (err: Error) => o.log?.warn({ err }, 'drachtio connection error'));
  return { srf, hostports };
}

/** `udp/10.0.0.5:5060,tcp/…` → `10.0.0.5:5060` (the first UDP one). */
export function sipHostFromHostports(hostports: string): string {
  const entries = hostports.split(',').map((e) => e.trim());
  const udp = entries.find((e) => e.startsWith('udp/')) ?? entries[0] ?? 'udp/127.0.0.1:5060';
  return udp.replace(/^\w+\//, '');
}

export async function buildSbcApp(d: SbcDeps): Promise<SbcApp> {
  const srf = d.srf as Srf & Srf.SrfExtras;
  const { config, log, clock } = d;
  const repo = withReadCache(d.repo, (config.cacheSeconds ?? 0) * 1000, clock);
  const metrics = d.metrics ?? createSbcMetrics();
  // --- gateway (docs/gateway.md) ---
  let gateway: Gateway | undefined;
  const ringer: IdentityRinger = d.gateway ? { ring: (r) => gateway!.ringer.ring(r) } : (d.ringer ?? unavailableRinger);
  // --- end gateway ---
  const recording = new RecordingPolicy(d.recording); // recording (docs/recordings.md)
  const digest = new DigestAuthenticator({ secret: d.nonceSecret, nonceTtlSeconds: config.registrar.nonceTtlSeconds, clock });
  // --- security (docs/security.md) ---
  const securityConfig = Value.Default(SecurityConfig, Value.Clone(config.security ?? {})) as SecurityConfig;
  const securityMetrics = createSecurityMetrics(metrics.registry);
  let mediaAvailable = () => true;
  const firewall = new SipFirewall({
    config: securityConfig, clock, log: log.child({ component: 'security' }), metrics: securityMetrics, repo,
    ...(d.securitySource ? { source: d.securitySource } : {}), mediaAvailable: () => mediaAvailable(),
    ...(d.sharedBans ? { shared: { ...d.sharedBans, instanceId: config.instanceId } } : {}),
    ...(d.onSecurityBan ? { onBan: d.onSecurityBan } : {}),
  });
  const liWebhooks = d.lawfulInterception ? (d.lawfulInterception.webhooks ?? new WebhookSender({ log: log.child({ component: 'li' }) })) : undefined;
  const li = d.lawfulInterception && liWebhooks
    ? new LiMonitor({ source: d.lawfulInterception.source, secret: d.lawfulInterception.secret, webhooks: liWebhooks, clock, log: log.child({ component: 'li' }), metrics: metrics.registry, ...(d.lawfulInterception.cacheSeconds !== undefined ? { cacheSeconds: d.lawfulInterception.cacheSeconds } : {}) })
    : undefined;
  const sipTap = d.capture ? new SipTap([d.localHost.split(':')[0] ?? '0.0.0.0', Number(d.localHost.split(':')[1] ?? 5060)]) : undefined;
  if (sipTap && !sipTap.install(srf)) log.warn('capture: could not tap the srf connection (SIP messages will be missing)');
  const captures = d.capture && sipTap ? new CaptureManager({ tap: sipTap, dir: d.capture.dir, host: d.capture.host, log: log.child({ component: 'capture' }) }) : undefined;
  const callGuard = new CallGuard({ firewall, clock, log: log.child({ component: 'security' }), metrics: securityMetrics, ...(d.onSecurityAlert ? { onAlert: d.onSecurityAlert } : {}) });
  // --- end security ---
  const admitter = new Admitter({ repo, digest, carrierRealm: config.carrierRealm ?? 'cpaas', guard: firewall });
  const router = new CallRouter(repo);
  const cdr = new CdrWriter({ repo, clock, log });
  const media = new MediaNodePool({
    repo, mode: config.rtpengine.mode, fallback: config.rtpengine.fallback, localAddress: config.rtpengine.localAddress,
    ...(config.rtpengine.interfaces ? { interfaces: config.rtpengine.interfaces } : {}),
    timeoutMs: config.rtpengine.timeoutMs, refreshMs: config.rtpengine.refreshSeconds * 1000, clock, log,
  });
  await media.start();
  mediaAvailable = () => media.status().some((n) => n.source === 'static' || n.live); // security: overload 503
  const health = new GatewayHealthMonitor({
    repo, clock, log, intervalMs: config.health.optionsIntervalSeconds * 1000, failuresToDown: config.health.failuresToDown,
    ping: (uri, timeoutMs) => new Promise<number>((resolve) => {
      const t = setTimeout(() => resolve(408), timeoutMs);
      srf.request(uri, { method: 'OPTIONS', headers: { From: `<sip:ping@${d.localHost}>` } }, (err, req) => {
        if (err) {
          clearTimeout(t);
          return resolve(503);
        }
        req.on('response', (res?: Srf.SrfResponse) => {
          clearTimeout(t);
          resolve(res?.status ?? 503);
        });
      });
    }),
  });
  health.start();
  const registrar = new Registrar({
    repo, digest, clock, log, metrics, limits: config.registrar, instanceId: config.instanceId,
    onTenant: (t) => health.track(t),
  });
  const calls = new Map<string, CallSession>();
  const perTenant = new Map<string, number>();
  metrics.activeCalls.collect(() => calls.size);
  // --- voice (docs/voice.md) ---
  const conferences = new ConferenceManager({ ...d.conferences, log: log.child({ component: 'conference' }), clock, ...(d.ownership ? { ownership: d.ownership } : {}) /* sbc-cluster */ }); // conferences (docs/conferences.md)
  const voice: SbcVoiceEngine | undefined = d.voice ? createVoiceEngine({
    conferences, // conferences: the mixer of the `conference` verb (d.voice.conferences overrides)
    ...d.voice, srf, repo, pickMedia: () => media.pick(), cdr, log, clock, metrics: metrics.registry,
    localHost: () => d.localHost, ringer, limits: config.limits,
    ...(d.ownership ? { ownership: d.ownership } : {}), // sbc-cluster
  }) : undefined;
  // --- end voice ---

  // --- sbc-core: rtpengine's DTMF log (RFC 2833 → SIP INFO) ---
  const dtmfEvents = config.rtpengine.dtmfLogListen
    ? await DtmfEventListener.listen({ ...parseHostPort(config.rtpengine.dtmfLogListen), log }).catch((err: unknown) => {
      log.warn({ err, listen: config.rtpengine.dtmfLogListen }, 'cannot listen for rtpengine DTMF events: RFC 2833 → SIP INFO is off');
      return undefined;
    })
    : undefined;
  const dtmfToInfo = metrics.registry.counter('dtmf_rfc2833_to_info_total', 'RFC 2833 DTMF events sent on as SIP INFO');
  // --- end sbc-core ---
  const endListeners = new Set<(info: CallInfo, quality: MediaQuality | undefined) => void>();
  const callDeps = {
    srf, clock, cdr, metrics, limits: config.limits,
    ...(dtmfEvents ? { dtmfEvents, onDtmfRelayed: () => dtmfToInfo.inc() } : {}), // sbc-core
    onCallEnded: (info: CallInfo, q: MediaQuality | undefined) => {
      for (const cb of endListeners) cb(info, q);
    },
    localHost: () => d.localHost,
    onGatewayQuality: (tenantId: string, trunkId: string, gatewayId: string, q: { mos?: number }) => {
      if (q.mos === undefined) return;
      repo.recordGatewayQuality(tenantId, trunkId, gatewayId, q.mos).catch((err: unknown) => log.warn({ err, trunkId, gatewayId }, 'recording gateway quality failed'));
    },
    resolveTransfer: async (call: CallSession, referTo: string): Promise<DialTarget[]> => {
      const called = userOf(referTo);
      const user = await repo.getUser(call.info.tenantId, called);
      if (user) {
        const decision = await router.route({ kind: 'device', tenantId: call.info.tenantId, user }, { requestUri: `sip:${called}@x`, fromUri: `sip:${user.username}@${user.domain}`, headers: {} });
        return decision.kind === 'targets' ? decision.targets : [];
      }
      const e164 = toE164(called);
      return e164 ? planOutbound(repo, { tenantId: call.info.tenantId, e164, fromUser: call.info.callerUser, headers: {} }) : [];
    },
  };

  srf.use(firewall.middleware()); // security (docs/security.md): first middleware, before admission

  srf.invite((req, res) => {
    const releases: Array<() => void> = []; // security: CAC slots held by this INVITE
    void (async () => {
      const emergency = firewall.isEmergency(req.uri); // security: emergency calls skip the limits
      if (calls.size >= config.limits.maxConcurrentCalls && !emergency) {
        metrics.callsRejected.inc({ status: '503' });
        return res.send(503, 'Maximum Calls In Progress', {});
      }
      const adm = await admitter.admit({
        method: 'INVITE', sourceAddress: req.source_address, requestUri: req.uri, fromUri: req.get('From'),
        ...(req.has('Proxy-Authorization') ? { proxyAuthorization: req.get('Proxy-Authorization') } : {}),
      });
      if (!adm.ok) {
        metrics.callsRejected.inc({ status: String(adm.status) });
        if (adm.status === 407) return res.send(407, { headers: { 'Proxy-Authenticate': adm.challenge } });
        log.info({ status: adm.status, source: req.source_address }, 'INVITE refused');
        return res.send(adm.status, adm.reason, {});
      }
      const { caller } = adm;
      health.track(caller.tenantId);
      // --- security (docs/security.md) ---
      const verdict = await callGuard.check({ caller, requestUri: req.uri, fromUri: req.get('From'), source: req.source_address });
      if (!verdict.ok) {
        metrics.callsRejected.inc({ status: String(verdict.status) });
        return res.send(verdict.status, verdict.reason, { headers: { Reason: `SIP;cause=${verdict.status};text="${verdict.text}"` } });
      }
      releases.push(verdict.release);
      // --- end security ---
      if ((perTenant.get(caller.tenantId) ?? 0) >= config.limits.maxCallsPerTenant && !emergency) {
        verdict.release();
        metrics.callsRejected.inc({ status: '503' });
        return res.send(503, 'Maximum Calls In Progress', {});
      }
      metrics.callsStarted.inc();
      const fromUri = req.get('From');
      const decision = await router.route(caller, { requestUri: req.uri, fromUri, headers: passHeaders((h) => (req.has(h) ? req.get(h) : undefined)) });
      // --- voice (docs/voice.md): application numbers; voicemail for users who don't answer ---
      const voiceCall = voice ? await voiceRoute(voice, { repo, caller, decision, req, res }) : undefined;
      if (voiceCall) {
        void voiceCall.done.finally(() => verdict.release());
        return;
      }
      if (decision.kind === 'application') {
        verdict.release();
        return res.send(480, 'Temporarily Unavailable', {});
      }
      // --- end voice ---
      if (decision.kind === 'reject') {
        verdict.release(); // security
        if (decision.status >= 500) metrics.callsFailed.inc();
        log.info({ status: decision.status, tenantId: caller.tenantId, to: userOf(req.uri) }, 'call not routable');
        return res.send(decision.status, decision.reason, {});
      }
      const id = newId('ca');
      const callLog = log.child({ sipCallId: req.get('Call-ID') });
      const session = new CallSession(callDeps, {
        id, tenantId: caller.tenantId,
        direction: decision.kind === 'targets' ? decision.direction : 'inbound',
        fromUri, toUri: req.uri,
        callerUser: caller.kind === 'device' ? caller.user.username : (toE164(userOf(fromUri), caller.trunk.countryCode) ?? userOf(fromUri)),
      }, req, res, new MediaSession(media.pick(), id, callLog), callLog);
      // --- media-services: recording policy (tenant, trunk `record`) and per-call transcoding toward a trunk's codecs ---
      const mediaPolicy = applyCallMediaPolicy({
        media: session.media, recording, tenantId: caller.tenantId, callId: id, parties: [userOf(fromUri), userOf(req.uri)], offerSdp: req.body ?? '',
        ...(caller.kind === 'carrier' ? { inboundTrunk: caller.trunk } : {}), ...(decision.kind === 'targets' ? { targets: decision.targets } : {}),
      });
      if (mediaPolicy.transcode) callLog.info({ transcode: mediaPolicy.transcode }, 'transcoding toward the trunk codecs');
      // --- end media-services ---
      // --- consent: a policy-recorded call announces the recording once answered (docs/recordings.md) ---
      session.onAnswered(() => mediaServices.consentOnAnswer({ tenantId: caller.tenantId, media: session.media, parties: [userOf(fromUri), userOf(req.uri)] }, id));
      // --- end consent ---
      // --- sbc-cluster: the registry write runs beside call setup (no DynamoDB round trip on every INVITE); only a
      // ring to a browser, whose answer comes back through the control API by this id, waits for it below ---
      const claimed = d.ownership?.claim(id, caller.tenantId);
      if (d.ownership) session.onEnded(() => d.ownership?.release(id));
      // --- end sbc-cluster ---
      calls.set(id, session);
      perTenant.set(caller.tenantId, (perTenant.get(caller.tenantId) ?? 0) + 1);
      // --- security: per-tenant max call duration ---
      const maxTimer = verdict.maxCallSeconds ? setTimeout(() => void session.hangup('local-hangup', 'tenant max call duration'), verdict.maxCallSeconds * 1000) : undefined;
      maxTimer?.unref();
      session.onEnded(() => {
        verdict.release();
        if (maxTimer) clearTimeout(maxTimer);
        if (captures?.isRunning(id)) void captures.stop(id);
        for (const c of sipCallIdsOf(session)) sipTap?.forget(c);
      });
      if (li) attachInterception(li, session); // lawful interception (invisible to the parties and tenants)
      // --- end security ---
      session.onEnded(() => {
        calls.delete(id);
        perTenant.set(caller.tenantId, Math.max(0, (perTenant.get(caller.tenantId) ?? 1) - 1));
      });
      cdr.attempt({
        id, tenantId: caller.tenantId, direction: session.info.direction, fromUri, toUri: req.uri,
        fromIdentity: userOf(fromUri), toIdentity: userOf(req.uri), mediaNodeId: session.media.node.id,
      });
      session.log.info({ tenantId: caller.tenantId, caller: caller.kind, route: decision.kind, targets: decision.kind === 'targets' ? decision.targets.length : 1 }, 'call accepted');
      if (decision.kind === 'identity') {
        await claimed; // sbc-cluster
        return connectIdentity(session, ringer, decision.identity);
      }
      return session.connect(decision.targets);
    })().catch((err: unknown) => {
      for (const r of releases) r(); // security
      const e = err instanceof Srf.SipError ? AppError.fromSipError(err) : toAppError(err);
      metrics.callsFailed.inc();
      if (e.code === 'MEDIA_UNAVAILABLE') log.error({ err: e }, 'no media node for a call');
      else log.error({ err: e }, 'INVITE handling failed');
      if (!res.finalResponseSent) res.send(e.sipStatus >= 400 ? e.sipStatus : 500);
    });
  });

  srf.register((req, res) => {
    registrar.handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'REGISTER handling failed');
      if (!res.finalResponseSent) res.send(toAppError(err).sipStatus);
    });
  });

  // Out-of-dialog OPTIONS: keep-alives from phones, and carriers' health checks of us.
  srf.options((_req, res) => res.send(200, { headers: { Allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, REGISTER' } }));

  const control = new ControlServer(log);
  const status = () => ({
    activeCalls: calls.size + (gateway?.outboundCalls ?? 0), // gateway: browser-originated calls (docs/gateway.md)
    // REGISTER outcomes since start (bindings themselves live in DynamoDB).
    registrations: Object.fromEntries(['ok', 'query', 'unregistered', 'challenged', 'forbidden'].map((r) => [r, metrics.registrations.get({ result: r })])),
    mediaNodes: media.status(),
  });
  control.addRoute('GET', '/v1/status', () => ({ status: 200, body: status() }));
  control.addRoute('GET', '/metrics', () => ({ status: 200, body: metrics.registry.render() }));
  if (d.ownership) mountOwnershipForwarding(control, d.ownership); // sbc-cluster: requests about other SBCs' calls
  // --- security (docs/security.md): bans and locks on the private control server ---
  control.addRoute('GET', '/v1/security/bans', () => ({ status: 200, body: { items: firewall.listBans(), callsInSetup: firewall.callsInSetup } }));
  control.addRoute('POST', '/v1/security/bans', (r) => {
    const b = r.body as { source?: unknown; seconds?: unknown } | undefined;
    if (typeof b?.source !== 'string' || !/^[0-9a-fA-F.:]+$/.test(b.source)) return { status: 400, body: { code: 'INVALID_PAYLOAD', message: 'source must be an IP address' } };
    firewall.ban(b.source, 'manual', typeof b.seconds === 'number' && b.seconds > 0 ? b.seconds : undefined);
    return { status: 200, body: { items: firewall.listBans() } };
  });
  control.addRoute('DELETE', '/v1/security/bans/:source', (r) => ({ status: firewall.unban(r.params.source!) ? 204 : 404, body: '' }));
  control.addRoute('DELETE', '/v1/security/locks/:user', (r) => ({ status: firewall.unlock(r.params.user!) ? 204 : 404, body: '' }));
  if (captures) {
    mountCaptureRoutes(control, {
      captures, ...(d.capture?.secret ? { secret: d.capture.secret } : {}),
      find: (cid) => {
        const c = calls.get(cid);
        return c ? { tenantId: c.info.tenantId, media: c.media, sipCallIds: () => sipCallIdsOf(c) } : undefined;
      },
    });
  }
  // --- end security ---
  // --- gateway (docs/gateway.md) ---
  if (d.gateway) {
    const g = d.gateway;
    gateway = new Gateway({
      srf, repo, media, cdr, clock, log: log.child({ component: 'gateway' }),
      notifier: g.notifier ?? httpNotifier({ url: g.signallingUrl ?? '', secret: g.secret, log }),
      limits: config.limits, localHost: () => d.localHost, findSession: (id) => calls.get(id), options: g, recording,
      ...(d.ownership ? { ownership: d.ownership } : {}), // sbc-cluster
    });
    gateway.mount(control);
  }
  // --- end gateway ---
  // --- recording + media-services (docs/recordings.md): POST /v1/calls/{id}/recording|play|dtmf on a live SIP or gateway call ---
  const mediaServices = mountCallMediaServices(control, {
    find: (id) => {
      const c = calls.get(id);
      if (c) return { tenantId: c.info.tenantId, media: c.media, parties: [userOf(c.info.fromUri), userOf(c.info.toUri)] };
      return gateway?.recordable(id);
    },
    ...(d.gateway ? { secret: d.gateway.secret } : {}),
    log, policy: recording, ...(d.mediaServices ? { options: d.mediaServices } : {}),
    mediaNodes: () => repo.mediaNodes(), // media-services: agents' play-source endpoints (docs/recordings.md § Playback on AWS)
  });
  if (gateway) gateway.recordingController = mediaServices.record;
  if (gateway) gateway.onOutboundAnswered = mediaServices.consentOnAnswer; // consent: browser → SIP calls
  // --- end recording ---
  // --- conferences (docs/conferences.md): /v1/conferences… on the control API; dialling in needs the voice engine ---
  mountConferenceRoutes(control, {
    conferences, log: log.child({ component: 'conference' }),
    ...(d.gateway ? { secret: d.gateway.secret } : {}),
    ...(voice ? { originate: (r) => voice.originate(r) } : {}),
  });
  // --- end conferences ---
  // --- voice-api (docs/api.md § Programmable voice): /v1/voice/calls on the control API, signed status callbacks ---
  let statusCallbacks: StatusCallbacks | undefined;
  if (voice && d.voice) {
    mountVoiceRoutes(control, { engine: voice, secret: d.gateway?.secret, log: log.child({ component: 'voice-api' }) });
    statusCallbacks = startStatusCallbacks({ engine: voice, webhookSecret: d.voice.webhookSecret, log, metrics: metrics.registry });
  }
  // --- end voice-api ---
  const controlAddress = config.control.port >= 0 ? await control.listen(config.control.host, config.control.port) : undefined;
  log.info({ control: controlAddress, localHost: d.localHost }, 'SBC ready');

  return {
    control, ...(controlAddress ? { controlAddress } : {}), metrics, health, security: { firewall, calls: callGuard }, media, cdr, status, ...(gateway ? { gateway } : {}), ...(voice ? { voice } : {}) /* voice */, conferences /* conferences */,
    activeCalls: () => [...calls.values()],
    onCallEnded: (cb) => {
      endListeners.add(cb);
      return () => endListeners.delete(cb);
    },
    async close() {
      firewall.close(); // security
      await captures?.close(); // security
      if (liWebhooks && !d.lawfulInterception?.webhooks) liWebhooks.close(); // security
      await health.stop();
      await gateway?.close(); // gateway (docs/gateway.md)
      await voice?.close(); // voice
      // --- voice-api: the last status callbacks get a moment, then deliveries in flight are cancelled ---
      if (statusCallbacks) await Promise.race([statusCallbacks.drain(), new Promise((r) => setTimeout(r, 2000).unref())]);
      statusCallbacks?.close();
      // --- end voice-api ---
      conferences.close(); // conferences
      await Promise.all([...calls.values()].map((c) => c.hangup('local-hangup', 'shutdown').catch((err: unknown) => log.warn({ err }, 'hangup at shutdown failed'))));
      await cdr.flush();
      await dtmfEvents?.close(); // sbc-core
      await control.close();
      await media.close();
    },
  };
}
