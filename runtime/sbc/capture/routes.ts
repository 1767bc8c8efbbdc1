/**
 * Control API of per-call capture (docs/security.md § Per-call capture), on the SBC's private control server:
 *   POST /v1/calls/:callId/capture  { tenantId?, action: start|stop }   (tenantId absent = admin)
 *   GET  /v1/captures/:callId[?tenantId=]  → { callId, sizeBytes, sha256, packets, pcap: <base64> }
 * With a secret, the `x-cpaas-gateway-secret` header is required (as for recording and the gateway).
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from '../../core/errors.js';
import type { ControlServer } from '../control/server.js';
import { secretMatches } from '../gateway/gateway.js';
import { GATEWAY_SECRET_HEADER } from '../gateway/notifier.js';
import { readPcap, type CaptureManager, type CapturableCall } from './capture.js';

export const CaptureControlBody = Type.Object({
  tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  action: Type.Union([Type.Literal('start'), Type.Literal('stop')]),
}, { additionalProperties: false });

export function mountCaptureRoutes(control: ControlServer, o: { captures: CaptureManager; find(callId: string): CapturableCall | undefined; secret?: string }): void {
  const owners = new Map<string, string>();
  const auth = (h: Record<string, unknown>) => {
    if (o.secret && !secretMatches(h[GATEWAY_SECRET_HEADER] as string | undefined, o.secret)) throw AppError.unauthenticated('bad or missing control secret');
  };
  control.addRoute('POST', '/v1/calls/:callId/capture', async (req) => {
    auth(req.headers);
    if (!Value.Check(CaptureControlBody, req.body)) throw AppError.invalid('body must be { tenantId?, action: start|stop }');
    const b = req.body as Static<typeof CaptureControlBody>;
    const callId = req.params.callId ?? '';
    const call = o.find(callId);
    if (b.action === 'start') {
      if (!call || (b.tenantId && call.tenantId !== b.tenantId) || !call.media.active) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found`);
      owners.set(callId, call.tenantId);
      if (owners.size > 10_000) owners.delete(owners.keys().next().value!);
      await o.captures.start(callId, call);
      return { status: 200, body: { callId, capturing: true } };
    }
    if (!o.captures.isRunning(callId) || (b.tenantId && owners.get(callId) !== b.tenantId)) throw new AppError('CALL_NOT_FOUND', `no capture of call ${callId}`);
    await o.captures.stop(callId);
    return { status: 200, body: { callId, capturing: false } };
  });
  control.addRoute('GET', '/v1/captures/:callId', (req) => {
    auth(req.headers);
    const callId = req.params.callId ?? '';
    const tenantId = req.query.get('tenantId');
    if (tenantId && owners.get(callId) !== tenantId) throw AppError.notFound('capture', callId);
    if (o.captures.isRunning(callId)) throw new AppError('CONFLICT', `capture of ${callId} still running (stop it or end the call)`);
    const f = o.captures.read(callId);
    if (!f) throw AppError.notFound('capture', callId);
    return { status: 200, body: { callId, sizeBytes: f.pcap.length, sha256: f.sha256, packets: readPcap(f.pcap).length, pcap: f.pcap.toString('base64') } };
  });
}
