import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConferenceManager } from '../../../runtime/sbc/voice/conference/manager.js';
import { conferenceWebhookSink } from '../../../runtime/sbc/voice/conference/events.js';
import { WebhookSender, verifyWebhook } from '../../../runtime/core/webhooks.js';
import type { ConferenceEventData } from '../../../runtime/core/protocol/conference.js';
import { goertzel } from '../media-agent/audio-support.js';
import { FakeEndpoint } from './fake-endpoint.js';

const log = pino({ level: 'silent' });

describe('ConferenceManager', () => {
  let mgr: ConferenceManager;
  afterEach(() => mgr?.close());

  const withEvents = () => {
    const events: Array<{ tenantId: string; type: string; data: ConferenceEventData }> = [];
    mgr = new ConferenceManager({ log, events: (tenantId, type, data) => events.push({ tenantId, type, data }), mixer: { holdSource: null } });
    return events;
  };

  it('creates a conference on the first join, lists it per tenant, ends it when empty', async () => {
    const events = withEvents();
    const a = await mgr.join({ tenantId: 't1', name: 'c1', callId: 'ca1', label: '+15550001', endpoint: new FakeEndpoint('a') });
    const b = await mgr.join({ tenantId: 't1', name: 'c1', callId: 'ca2', label: 'alice', endpoint: new FakeEndpoint('b'), muted: true });
    await mgr.join({ tenantId: 't2', name: 'c1', callId: 'ca3', label: 'bob', endpoint: new FakeEndpoint('c') });
    expect(a.participant.id).toMatch(/^cp/);
    const l1 = mgr.list('t1');
    expect(l1.map((c) => c.name)).toEqual(['c1']);
    expect(l1[0]!.participants.map((p) => [p.label, p.muted])).toEqual([['+15550001', false], ['alice', true]]);
    expect(mgr.list('t2')[0]!.participants).toHaveLength(1);
    expect(mgr.list('t3')).toEqual([]);
    a.leave();
    expect(await a.left).toBe('left');
    b.leave();
    expect(await b.left).toBe('left');
    expect(mgr.list('t1')).toEqual([]);
    expect(() => mgr.get('t1', 'c1')).toThrow(/not found/);
    expect(events.filter((e) => e.tenantId === 't1').map((e) => e.type)).toEqual([
      'conference.started', 'conference.participant.joined', 'conference.participant.joined',
      'conference.participant.left', 'conference.participant.left', 'conference.ended',
    ]);
    expect(events.at(-1)!.data.reason).toBe('empty');
  });

  it('mute, hold, kick and end through the service; mixing follows', async () => {
    const events = withEvents();
    const eps = { a: new FakeEndpoint('a'), b: new FakeEndpoint('b'), c: new FakeEndpoint('c') };
    const j = {
      a: await mgr.join({ tenantId: 't', name: 'room', callId: 'c-a', label: 'a', endpoint: eps.a }),
      b: await mgr.join({ tenantId: 't', name: 'room', callId: 'c-b', label: 'b', endpoint: eps.b }),
      c: await mgr.join({ tenantId: 't', name: 'room', callId: 'c-c', label: 'c', endpoint: eps.c }),
    };
    const v = mgr.update('t', 'room', j.b.participant.id, { muted: true });
    expect(v.muted).toBe(true);
    expect(mgr.get('t', 'room').participants.find((p) => p.id === j.b.participant.id)!.muted).toBe(true);
    expect(events.filter((e) => e.type === 'conference.participant.muted').map((e) => e.data.participant!.muted)).toEqual([true]);
    mgr.update('t', 'room', j.c.participant.id, { held: true });
    expect(events.some((e) => e.type === 'conference.participant.held')).toBe(true);
    expect(() => mgr.update('t', 'room', 'cp_nope', { muted: true })).toThrow(/not in conference/);
    expect(() => mgr.update('other', 'room', j.b.participant.id, { muted: true })).toThrow(/not found/);

    mgr.kick('t', 'room', j.c.participant.id);
    expect(await j.c.left).toBe('kicked');
    expect(eps.c.listeners).toBe(0);
    expect(mgr.get('t', 'room').participants).toHaveLength(2);

    mgr.end('t', 'room');
    expect(await j.a.left).toBe('ended');
    expect(await j.b.left).toBe('ended');
    expect(mgr.list('t')).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'conference.ended', data: { conference: 'room', reason: 'api' } });
  });

  it('endOnLeave ends the conference for everyone', async () => {
    withEvents();
    const host = await mgr.join({ tenantId: 't', name: 'x', callId: 'h', label: 'host', endpoint: new FakeEndpoint('h'), endOnLeave: true });
    const guest = await mgr.join({ tenantId: 't', name: 'x', callId: 'g', label: 'guest', endpoint: new FakeEndpoint('g') });
    host.leave();
    expect(await guest.left).toBe('ended');
    expect(mgr.list('t')).toEqual([]);
  });

  it('mixes on its own 20 ms clock: participants hear each other, not themselves', async () => {
    withEvents();
    const a = new FakeEndpoint('a');
    const b = new FakeEndpoint('b');
    await mgr.join({ tenantId: 't', name: 'live', callId: '1', label: 'a', endpoint: a });
    await mgr.join({ tenantId: 't', name: 'live', callId: '2', label: 'b', endpoint: b });
    const feeder = setInterval(() => {
      a.feedTone(500);
      b.feedTone(1500);
    }, 20);
    await new Promise((r) => setTimeout(r, 700));
    clearInterval(feeder);
    expect(goertzel(a.tail(20), 1500)).toBeGreaterThan(0.3);
    expect(goertzel(a.tail(20), 500)).toBeLessThan(0.01);
    expect(goertzel(b.tail(20), 500)).toBeGreaterThan(0.3);
  });

  it('delivers events as signed tenant webhooks, in order, only to tenants with a webhook URL', async () => {
    const got: Array<{ body: string; headers: IncomingMessage['headers'] }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ body, headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.16.1', r));
    const url = `http://127.0.16.1:${(server.address() as AddressInfo).port}/hook`;
    const webhooks = new WebhookSender({ log });
    const sink = conferenceWebhookSink({
      tenants: { get: async (id) => (id === 't' ? { webhookUrl: url } : {}), webhookSecret: async () => 'whsec' },
      webhooks, log,
    });
    mgr = new ConferenceManager({ log, events: sink });
    const a = await mgr.join({ tenantId: 't', name: 'w', callId: 'c1', label: 'a', endpoint: new FakeEndpoint('a') });
    await mgr.join({ tenantId: 'no-hook', name: 'w', callId: 'c2', label: 'b', endpoint: new FakeEndpoint('b') });
    mgr.update('t', 'w', a.participant.id, { muted: true });
    a.leave();
    await sink.idle();
    await webhooks.drain();
    webhooks.close();
    server.close();
    const types = got.map((g) => (JSON.parse(g.body) as { type: string }).type);
    expect(types).toEqual(['conference.started', 'conference.participant.joined', 'conference.participant.muted', 'conference.participant.left', 'conference.ended']);
    for (const g of got) {
      expect(verifyWebhook('whsec', g.headers['x-cpaas-timestamp'] as string, g.body, g.headers['x-cpaas-signature'] as string)).toBe(true);
      expect(JSON.parse(g.body)).toMatchObject({ tenantId: 't', data: { conference: 'w' } });
    }
  });
});
