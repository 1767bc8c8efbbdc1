/**
 * Call recording through the SBC (docs/recordings.md § SBC, docs/gateway.md): the policy that decides which calls
 * are recorded from the start, the rtpengine metadata string the media agent's pipeline reads, and the private
 * control endpoint `POST /v1/calls/{id}/recording` that starts/stops recording of a live call.
 *
 * Policy (kept small): `recording.tenants` in the SBC config lists tenant ids whose calls (SIP and gateway) are
 * recorded from the first offer (`'*'` = every tenant). Anything else is recorded on demand through the endpoint.
 * rtpengine must run with `--recording-method=pcap --recording-dir=<dir> --delete-delay=0`.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { formatMetadataString } from '../../media-agent/recordings/rtpengine-files.js';
import type { ControlServer, ControlRequest } from '../control/server.js';
import type { MediaSession } from '../media/rtpengine.js';
import { secretMatches } from '../gateway/gateway.js';
import { GATEWAY_SECRET_HEADER } from '../gateway/notifier.js';

export interface RecordingOptions {
  /** Tenants whose calls are recorded from the start; `'*'` = all. */
  tenants: string[];
}

export class RecordingPolicy {
  constructor(private readonly o: RecordingOptions = { tenants: [] }) {}

  recordsByDefault(tenantId: string): boolean {
    return this.o.tenants.includes('*') || this.o.tenants.includes(tenantId);
  }

  /** Arms `media` so its offers record the call, when the tenant records by default. */
  apply(media: MediaSession, tenantId: string, callId: string, parties: string[]): void {
    if (this.recordsByDefault(tenantId)) media.record = { metadata: recordingMetadata(tenantId, callId, parties) };
  }
}

/** A party label for the metadata: the user part of a SIP URI, or the label as given. */
export const partyLabel = (uriOrName: string): string => /sips?:([^@;>]+)/i.exec(uriOrName)?.[1] ?? uriOrName.replace(/^<|>$/g, '');

export function recordingMetadata(tenantId: string, callId: string, parties: string[]): string {
  return formatMetadataString({ tenant: tenantId, call: callId, parties: parties.map(partyLabel) });
}

export const RecordingControlBody = Type.Object({
  tenantId: Type.String({ minLength: 1, maxLength: 64 }),
  action: Type.Union([Type.Literal('start'), Type.Literal('stop')]),
}, { additionalProperties: false });

/** A live call the endpoint may act on. */
export interface RecordableCall {
  tenantId: string;
  media: MediaSession;
  parties: string[];
}

/**
 * `POST /v1/calls/{id}/recording` `{ tenantId, action: start|stop }` on the SBC's private control server. With a
 * secret (the gateway's shared secret) the `x-cpaas-gateway-secret` header is required. A call of another tenant is
 * CALL_NOT_FOUND, like the gateway's endpoints.
 */
export function mountRecordingRoutes(control: ControlServer, o: { find(callId: string): RecordableCall | undefined; secret?: string; log: Logger }): void {
  control.addRoute('POST', '/v1/calls/:callId/recording', async (req: ControlRequest) => {
    if (o.secret && !secretMatches(req.headers[GATEWAY_SECRET_HEADER], o.secret)) throw AppError.unauthenticated('bad or missing control secret');
    if (!Value.Check(RecordingControlBody, req.body)) throw AppError.invalid('body must be { tenantId, action: start|stop }');
    const b = req.body as Static<typeof RecordingControlBody>;
    const callId = req.params.callId ?? '';
    const call = o.find(callId);
    if (!call || call.tenantId !== b.tenantId || !call.media.active) throw new AppError('CALL_NOT_FOUND', `call ${callId} not found`);
    await call.media.setRecording(b.action === 'start', recordingMetadata(call.tenantId, callId, call.parties));
    o.log.info({ callId, tenantId: call.tenantId, action: b.action }, 'recording changed');
    return { status: 200, body: { callId, recording: b.action === 'start' } };
  });
}
