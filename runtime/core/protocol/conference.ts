/**
 * Conferences (docs/conferences.md): DTOs of the REST API (`/v1/conferences`), of the SBC's private control API
 * and of the `conference.*` webhook events.
 */
import { Type, type Static } from 'typebox';
import { DialTargetSpec } from './voice.js';

export const ConferenceName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Conference name, unique per tenant' });
export const ConferenceParticipantId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

export const ConferenceParticipant = Type.Object(
  {
    id: Type.String({ description: 'Participant id (`cp_…`), used to mute/hold/kick' }),
    callId: Type.String({ description: 'The call (CDR id) of this participant' }),
    label: Type.String({ description: 'A phone number, SIP user or identity' }),
    muted: Type.Boolean({ description: 'Not heard by the others' }),
    held: Type.Boolean({ description: 'Neither hears nor is heard (hears the hold tone)' }),
    joinedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'ConferenceParticipant' },
);
export type ConferenceParticipant = Static<typeof ConferenceParticipant>;

export const Conference = Type.Object(
  {
    name: ConferenceName,
    startedAt: Type.String({ format: 'date-time' }),
    participants: Type.Array(ConferenceParticipant),
  },
  { $id: 'Conference' },
);
export type Conference = Static<typeof Conference>;

export const ConferenceList = Type.Object({ items: Type.Array(Conference) }, { $id: 'ConferenceList' });
export type ConferenceList = Static<typeof ConferenceList>;

export const ConferenceParticipantUpdate = Type.Object(
  {
    muted: Type.Optional(Type.Boolean()),
    held: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1, $id: 'ConferenceParticipantUpdate' },
);
export type ConferenceParticipantUpdate = Static<typeof ConferenceParticipantUpdate>;

/** `POST /v1/conferences/{name}/participants`: call someone into a conference (an originated call running `conference`). */
export const ConferenceDialRequest = Type.Object(
  {
    /** DialTargetSpec without its $id (a second copy of one $id in several route schemas breaks fastify's validator). */
    to: Type.Union(DialTargetSpec.anyOf, { description: 'Who to call: a phone number, SIP URI, SIP user (its registered devices) or WebRTC identity' }),
    from: Type.Optional(Type.String({ maxLength: 128, description: 'Caller id shown to the dialled party: one of the tenant’s numbers or an identity/SIP user name' })),
    muted: Type.Optional(Type.Boolean()),
    held: Type.Optional(Type.Boolean()),
    endOnLeave: Type.Optional(Type.Boolean()),
    ringTimeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 120 })),
  },
  { additionalProperties: false, $id: 'ConferenceDialRequest' },
);
export type ConferenceDialRequest = Static<typeof ConferenceDialRequest>;

export const ConferenceDialResult = Type.Object(
  { callId: Type.String({ description: 'The originated call; it joins the conference when answered (see `conference.participant.joined`)' }), status: Type.String() },
  { $id: 'ConferenceDialResult' },
);
export type ConferenceDialResult = Static<typeof ConferenceDialResult>;

/** Webhook event types (`type` of the signed webhook envelope; docs/webhooks.md). */
export const CONFERENCE_EVENTS = [
  'conference.started',
  'conference.participant.joined',
  'conference.participant.left',
  'conference.participant.muted',
  'conference.participant.held',
  'conference.ended',
] as const;
export type ConferenceEventType = (typeof CONFERENCE_EVENTS)[number];

/** `data` of a `conference.*` webhook. */
export interface ConferenceEventData {
  conference: string;
  participant?: ConferenceParticipant;
  /** participant.left: why; conference.ended: why. */
  reason?: 'left' | 'kicked' | 'ended' | 'empty' | 'end-on-leave' | 'api';
  participants?: number;
}
