/**
 * 1:1 call between two Chromium contexts, relay-only through coturn with TURN credentials from the platform:
 * relay/relay pair on both sides, video decoded and audio received both ways, chat, a 1 MB file with equal sha-256,
 * hold/resume, hangup with its reason; then wrong and expired TURN credentials surface a clear error quickly.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { e2eAvailable, startE2E, until, sleep, type E2E, type PcStats } from './support/harness.js';

const run = e2eAvailable('e2e call');

describe.skipIf(!run)('1:1 call through TURN (Chromium)', () => {
  let e2e: E2E;
  let alice: Page;
  let bob: Page;

  const stats = (p: Page): Promise<Record<string, PcStats>> => p.evaluate(() => window.E2E.allStats());
  const one = async (p: Page): Promise<PcStats> => Object.values(await stats(p))[0]!;

  beforeAll(async () => {
    e2e = await startE2E();
    alice = await e2e.page('alice');
    bob = await e2e.page('bob');
    for (const [p, id] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const token = await e2e.token(id);
      await p.evaluate(async (t) => {
        await window.E2E.connect(t);
        await window.E2E.makeMedia();
      }, token);
    }
  });

  afterAll(async () => {
    await e2e?.close();
  });

  // One retry: on a loaded 2-core machine a relay-only call has (rarely, ~1 run in 10 of the whole suite) not
  // connected within 20 s. The retry hangs up what is left and places a fresh call; every assertion is unchanged.
  it('rings, connects relay-only, and media flows both ways', { retry: 1 }, async () => {
    for (const p of [alice, bob]) {
      await p.evaluate(async () => {
        const E2E = window.E2E;
        for (const c of [E2E.call, E2E.incoming]) await Promise.resolve(c?.hangup?.()).catch(() => undefined);
        E2E.call = null;
        E2E.incoming = null;
        E2E.connectedAt = null;
      });
    }
    const callId = await alice.evaluate(() => window.E2E.dial('bob'));
    await until(bob, () => window.E2E.incoming !== null, 10_000);
    expect(await bob.evaluate(() => ({ id: window.E2E.incoming.id, from: window.E2E.incoming.remoteIdentity, state: window.E2E.incoming.state }))).toEqual({ id: callId, from: 'alice', state: 'ringing' });
    await bob.evaluate(() => window.E2E.incoming.accept({ media: window.E2E.media }));
    await until(alice, () => window.E2E.connectedAt !== null);
    await until(bob, () => window.E2E.connectedAt !== null);
    for (const p of [alice, bob]) {
      await until(p, async () => {
        const s = (await window.E2E.allStats()) as Record<string, PcStats>;
        const v = Object.values(s)[0];
        return !!v && v.framesDecoded > 0 && v.audioPackets > 0;
      });
      const s = await one(p);
      expect(s).toMatchObject({ state: 'connected', local: 'relay', remote: 'relay' });
      expect(s.framesDecoded).toBeGreaterThan(0);
      expect(s.audioPackets).toBeGreaterThan(0);
    }
    const q = await alice.evaluate(() => window.E2E.call.getQuality());
    expect(q).toMatchObject({ localCandidateType: 'relay', remoteCandidateType: 'relay', relayProtocol: 'udp' });
    expect(q.mos).toBeGreaterThan(3.5);
  });

  it('delivers chat messages both ways', async () => {
    await alice.evaluate(() => window.E2E.call.peer.controlOpen());
    await alice.evaluate(() => window.E2E.call.sendMessage('hello bob'));
    await bob.evaluate(() => window.E2E.call.sendMessage('hi alice'));
    await until(bob, () => window.E2E.callMessages.includes('hello bob'), 5_000);
    await until(alice, () => window.E2E.callMessages.includes('hi alice'), 5_000);
  });

  it('transfers a 1 MB file with progress and an equal sha-256', async () => {
    const sent = await alice.evaluate(async () => {
      const blob = window.E2E.randomBlob(1024 * 1024);
      const sha = await window.E2E.sha(blob);
      const t = await window.E2E.call.sendFile(blob, 'random.bin');
      window.E2E.sending = t;
      window.E2E.sentProgress = 0;
      t.on('progress', (b: number) => (window.E2E.sentProgress = b));
      return { sha, sdkSha: t.sha256, size: t.size };
    });
    expect(sent.sdkSha).toBe(sent.sha);
    await until(bob, () => window.E2E.offers.length > 0, 5_000);
    const started = Date.now();
    const got = await bob.evaluate(async () => {
      const t = window.E2E.offers[0];
      const blob = await t.accept();
      return { name: t.name, size: blob.size, sha: await window.E2E.sha(blob), offered: t.sha256, state: t.state };
    });
    const ms = Date.now() - started;
    expect(got).toEqual({ name: 'random.bin', size: 1024 * 1024, sha: sent.sha, offered: sent.sha, state: 'done' });
    await until(alice, () => window.E2E.sending.state === 'done', 5_000);
    expect(await alice.evaluate(() => window.E2E.sentProgress)).toBe(1024 * 1024);
    console.log(`1 MB file over the TURN relay in ${ms} ms`);
  });

  it('hold stops media in both directions and resume restores it', async () => {
    await alice.evaluate(() => window.E2E.call.hold());
    await until(bob, () => window.E2E.held.some((h: { held: boolean; byRemote: boolean }) => h.held && h.byRemote), 5_000);
    await sleep(600); // packets already in flight
    const a0 = await one(alice);
    const b0 = await one(bob);
    await sleep(1_500);
    const a1 = await one(alice);
    const b1 = await one(bob);
    // 1.5 s of opus is ~75 packets; on hold at most a stray one or two
    expect(a1.audioPackets - a0.audioPackets).toBeLessThan(5);
    expect(b1.audioPackets - b0.audioPackets).toBeLessThan(5);
    expect(b1.framesDecoded - b0.framesDecoded).toBeLessThan(3);
    await alice.evaluate(() => window.E2E.call.resume());
    await until(bob, () => window.E2E.held.at(-1)?.held === false, 5_000);
    await sleep(1_500);
    const a2 = await one(alice);
    const b2 = await one(bob);
    expect(a2.audioPackets - a1.audioPackets).toBeGreaterThan(20);
    expect(b2.audioPackets - b1.audioPackets).toBeGreaterThan(20);
    expect(b2.framesDecoded - b1.framesDecoded).toBeGreaterThan(5);
    expect(a2.framesDecoded - a1.framesDecoded).toBeGreaterThan(5);
  });

  it('hangup reaches the other side with its reason', async () => {
    await alice.evaluate(() => window.E2E.call.hangup());
    await until(bob, () => window.E2E.ended !== null, 5_000);
    expect(await bob.evaluate(() => window.E2E.ended)).toEqual({ reason: 'remote-hangup', byRemote: true });
    expect(await alice.evaluate(() => window.E2E.ended)).toEqual({ reason: 'local-hangup', byRemote: false });
    expect(await bob.evaluate(() => window.E2E.call.peer === null || window.E2E.call.peer.pc.connectionState)).toBe('closed');
  });

  async function badTurnCall(carol: string, dave: string, badCredential: { username?: string; credential?: string }) {
    const c = await e2e.page(carol);
    const d = await e2e.page(dave);
    for (const [p, id] of [[c, carol], [d, dave]] as const) {
      const token = await e2e.token(id);
      await p.evaluate(
        async ([t, bad]) => {
          await window.E2E.connect(t, { badCredential: bad, debug: true });
          await window.E2E.makeMedia();
        },
        [token, badCredential] as const,
      );
    }
    await c.evaluate((to) => window.E2E.dial(to), dave);
    await until(d, () => window.E2E.incoming !== null, 10_000);
    const t0 = Date.now();
    await d.evaluate(() => window.E2E.incoming.accept({ media: window.E2E.media }));
    await until(c, () => window.E2E.errors.length > 0, 10_000);
    const elapsed = Date.now() - t0;
    const err = await c.evaluate(() => window.E2E.errors[0]);
    const st = await c.evaluate(() => window.E2E.call.peer.pc.connectionState);
    await c.evaluate(() => window.E2E.call.hangup());
    return { err, elapsed, st };
  }

  it('wrong TURN credentials: TURN_AUTH_FAILED within seconds (Chromium itself never reports failed)', async () => {
    const { err, elapsed, st } = await badTurnCall('carol', 'dave', { credential: 'not-the-right-password' });
    expect(err).toMatchObject({ where: 'call', code: 'TURN_AUTH_FAILED', details: { fatal: true } });
    expect(err.details.turnErrors[0]).toMatchObject({ errorCode: 401 });
    expect(st).not.toBe('connected');
    expect(elapsed).toBeLessThan(8_000);
    console.log(`wrong TURN credential verdict after ${elapsed} ms`);
  });

  it('expired TURN credentials (valid HMAC, expiry in the past): TURN_AUTH_FAILED', async () => {
    const username = `${Math.floor(Date.now() / 1000) - 60}:erin`;
    const credential = createHmac('sha1', e2e.coturn.secret).update(username).digest('base64');
    const { err, elapsed } = await badTurnCall('erin', 'frank', { username, credential });
    expect(err).toMatchObject({ code: 'TURN_AUTH_FAILED' });
    expect(elapsed).toBeLessThan(8_000);
    console.log(`expired TURN credential verdict after ${elapsed} ms`);
  });

  it('the positive assertions fail on a bad-credential call (the suite can go red)', async () => {
    const c = e2e.pages.at(-2)!; // erin
    const s = await c.evaluate(() => window.E2E.errors.length);
    expect(s).toBeGreaterThan(0);
    await expect(until(c, () => window.E2E.connectedAt !== null, 1_500)).rejects.toThrow();
  });
});
