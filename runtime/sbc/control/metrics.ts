/** The SBC's metrics (Prometheus at /metrics; EMF names CallsStarted/CallsFailed for the CloudWatch alarm). */
import { MetricsRegistry } from '../../core/metrics.js';

/** Counted by the voice engine (runtime/sbc/voice/engine.ts) with a `reason` label. */
export const VOICE_APP_ERRORS = 'cpaas_voice_app_errors_total';

export function createSbcMetrics(registry = new MetricsRegistry('')) {
  return {
    registry,
    callsStarted: registry.counter('calls_started_total', 'INVITEs accepted for routing (admitted calls)'),
    callsFailed: registry.counter('calls_failed_total', 'Calls that ended without being answered for a reason other than the caller cancelling or the callee declining'),
    callsAnswered: registry.counter('calls_answered_total', 'Calls answered end to end'),
    callsRejected: registry.counter('calls_rejected_total', 'INVITEs refused before routing (auth, limits), by status'),
    activeCalls: registry.gauge('active_calls', 'Calls in progress (ringing or answered)'),
    registrations: registry.counter('registrations_total', 'REGISTER requests by result'),
    dtmfConverted: registry.counter('dtmf_info_to_rfc2833_total', 'SIP INFO DTMF digits sent as RFC 2833 events by rtpengine'),
    gatewayFailovers: registry.counter('gateway_failovers_total', 'B-leg attempts that failed over to the next gateway'),
    /** Same counter the voice engine increments (registered here so the EMF sees it and its help text is set once). */
    voiceAppErrors: registry.counter(VOICE_APP_ERRORS, 'Programmable calls ended by an application error (reason: timeout, http-error, network, invalid-document, no-secret, private-address, application-not-found, conference-unavailable, internal)'),
    setupSeconds: registry.histogram('call_setup_seconds', 'INVITE received → 200 OK sent', [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  };
}
export type SbcMetrics = ReturnType<typeof createSbcMetrics>;

/**
 * EMF lines with the CloudWatch names the alarms use (CallsStarted / CallsFailed / VoiceAppErrors, namespace CPaaS,
 * service=sbc). VoiceAppErrors: programmable calls ended by a tenant application error (docs/voice.md).
 */
export function sbcEmf(m: SbcMetrics, nowMs: number, previous: { started: number; failed: number; voiceErrors?: number }): string[] {
  const started = m.callsStarted.get();
  const failed = m.callsFailed.get();
  const voiceErrors = m.voiceAppErrors.total();
  const doc = {
    _aws: { Timestamp: nowMs, CloudWatchMetrics: [{ Namespace: 'CPaaS', Dimensions: [['service']], Metrics: [{ Name: 'CallsStarted', Unit: 'Count' }, { Name: 'CallsFailed', Unit: 'Count' }, { Name: 'ActiveCalls', Unit: 'Count' }, { Name: 'VoiceAppErrors', Unit: 'Count' }] }] },
    service: 'sbc',
    CallsStarted: started - previous.started,
    CallsFailed: failed - previous.failed,
    ActiveCalls: m.activeCalls.get(),
    VoiceAppErrors: voiceErrors - (previous.voiceErrors ?? 0),
  };
  previous.started = started;
  previous.failed = failed;
  previous.voiceErrors = voiceErrors;
  return [JSON.stringify(doc)];
}
