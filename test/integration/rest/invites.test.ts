import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { AppError } from '../../../runtime/core/errors.js';
import { identityFromEmail, joinLink } from '../../../runtime/signalling/http/routes/invites.js';
import { call, expectError, newTenant } from './helpers.js';

interface StoredMail {
  messageId: string;
  destination: { to: string[] };
  subject: string;
  body: { text: string; html: string };
}

describe('REST: email invites', () => {
  let p: TestPlatform;
  let key: string;
  let tenantId: string;
  const mails = async (): Promise<StoredMail[]> => ((await (await fetch(`${p.standIns.endpoints.ses}/store`)).json()) as { emails: StoredMail[] }).emails;

  beforeAll(async () => {
    p = await startTestPlatform({ overrides: { http: { publicUrl: 'https://meet.example.com' } } });
    ({ apiKey: key, tenantId } = await newTenant(p, 'inviter'));
  });
  beforeEach(async () => {
    await fetch(`${p.standIns.endpoints.ses}/clear-store`, { method: 'POST' });
  });
  afterAll(async () => {
    await p?.stop();
  });

  it('sends an invite through SES whose link carries a token for that room', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'Design <review> & "friends"' } })).body;
    // WHEN inviting by email with a personal message containing markup
    const res = await call(p, 'POST', `/v1/rooms/${room.id}/invites`, {
      key,
      json: { email: 'Bob.Smith+cpaas@Example.com', displayName: 'Bob <b>', message: 'Join us <script>alert(1)</script>', ttlSeconds: 3600 },
    });
    // THEN the invite is recorded as sent with the SES message id
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ roomId: room.id, email: 'Bob.Smith+cpaas@Example.com', identity: 'bob.smith+cpaas@example.com', status: 'sent', messageId: expect.any(String) });
    expect(Date.parse(res.body.expiresAt) - Date.parse(res.body.createdAt)).toBeGreaterThan(3_590_000);

    // AND the SES stand-in received the mail
    const stored = await mails();
    expect(stored).toHaveLength(1);
    const mail = stored[0]!;
    expect(mail.destination.to).toEqual(['Bob.Smith+cpaas@Example.com']);
    expect(mail.messageId).toBe(res.body.messageId);
    expect(mail.subject).toContain('Design <review>');
    // user text is escaped in the HTML part
    expect(mail.body.html).not.toContain('<script>');
    expect(mail.body.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail.body.html).toContain('Design &lt;review&gt; &amp; &quot;friends&quot;');
    expect(mail.body.html).toContain('Bob &lt;b&gt;');
    expect(mail.body.text).toContain('Join us <script>alert(1)</script>');

    // AND the link opens the demo room page of this deployment with a token that verifies for the room
    const link = /Join: (\S+)/.exec(mail.body.text)?.[1];
    expect(link).toBeDefined();
    const url = new URL(link!);
    expect(`${url.origin}${url.pathname}`).toBe('https://meet.example.com/demo/room.html');
    expect(url.searchParams.get('room')).toBe(room.id);
    const claims = await p.services.tokens.verify(url.searchParams.get('token')!);
    expect(claims).toMatchObject({ tenantId, identity: 'bob.smith+cpaas@example.com', displayName: 'Bob <b>' });
    expect(claims.grants.rooms).toEqual([room.id]);
    expect(claims.expiresAt).toBe(Date.parse(res.body.expiresAt));
    expect(mail.body.html).toContain(`href="${link!.replace(/&/g, '&amp;')}"`);

    // AND the listing shows the delivery status
    const list = await call(p, 'GET', `/v1/rooms/${room.id}/invites`, { key });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([res.body]);
  });

  it('uses the given joinUrl and identity', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'custom' } })).body;
    const res = await call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'carol@example.com', identity: 'carol-42', joinUrl: 'https://app.example.com/join?lang=en' } });
    expect(res.status).toBe(201);
    expect(res.body.identity).toBe('carol-42');
    const link = /Join: (\S+)/.exec((await mails())[0]!.body.text)![1]!;
    const url = new URL(link);
    expect(url.origin + url.pathname).toBe('https://app.example.com/join');
    expect(url.searchParams.get('lang')).toBe('en');
    expect((await p.services.tokens.verify(url.searchParams.get('token')!)).identity).toBe('carol-42');
  });

  it('records a failed delivery and answers 502 MAIL_FAILED', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'mail down' } })).body;
    const real = p.services.mailer;
    p.services.mailer = { send: async () => Promise.reject(new AppError('MAIL_FAILED', 'email to dave@example.com failed: MessageRejected', { retryable: true })) };
    try {
      const err = await expectError(call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'dave@example.com' } }), 502, 'MAIL_FAILED');
      expect(err.retryable).toBe(true);
    } finally {
      p.services.mailer = real;
    }
    const list = await call(p, 'GET', `/v1/rooms/${room.id}/invites`, { key });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ email: 'dave@example.com', status: 'failed', error: expect.stringContaining('MessageRejected') });
    expect(list.body.items[0]).not.toHaveProperty('messageId');
  });

  it('validates the request and the room', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'v' } })).body;
    const badEmail = await expectError(call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'not-an-email' } }), 400, 'INVALID_PAYLOAD');
    expect(badEmail.field).toBe('body/email');
    const ttl = await expectError(call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'e@example.com', ttlSeconds: 172_800 } }), 400, 'INVALID_PAYLOAD');
    expect(ttl.field).toBe('body/ttlSeconds');
    await expectError(call(p, 'POST', '/v1/rooms/rm_missing/invites', { key, json: { email: 'e@example.com' } }), 404, 'ROOM_NOT_FOUND');
    await call(p, 'POST', `/v1/rooms/${room.id}/close`, { key });
    await expectError(call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'e@example.com' } }), 409, 'ROOM_CLOSED');
    expect(await mails()).toHaveLength(0);
  });

  it('replays an idempotent invite without sending a second mail', async () => {
    const room = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'idem' } })).body;
    const headers = { 'idempotency-key': `inv-${Date.now()}` };
    const first = await call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'erin@example.com' }, headers });
    const again = await call(p, 'POST', `/v1/rooms/${room.id}/invites`, { key, json: { email: 'erin@example.com' }, headers });
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(await mails()).toHaveLength(1);
    // the same key and body for another room is a different request
    const other = (await call(p, 'POST', '/v1/rooms', { key, json: { name: 'idem 2' } })).body;
    await expectError(call(p, 'POST', `/v1/rooms/${other.id}/invites`, { key, json: { email: 'erin@example.com' }, headers }), 422, 'IDEMPOTENCY_CONFLICT');
    expect(await mails()).toHaveLength(1);
  });

  it('derives identities and links', () => {
    expect(identityFromEmail('Alice@Example.com')).toBe('alice@example.com');
    expect(identityFromEmail("o'neil!x@example.com")).toBe('o_neil_x@example.com');
    expect(identityFromEmail('_x@example.com')).toBe('u_x@example.com');
    expect(identityFromEmail(`${'a'.repeat(200)}@example.com`)).toHaveLength(128);
    expect(joinLink('https://a/b', 'rm_1', 't.o.k')).toBe('https://a/b?room=rm_1&token=t.o.k');
    expect(joinLink('https://a/b?x=1', 'rm_1', 'tok')).toBe('https://a/b?x=1&room=rm_1&token=tok');
  });
});
