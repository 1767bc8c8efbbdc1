/**
 * Three-party mesh room relay-only through coturn: media between every pair, chat with history; then the signalling
 * process is restarted mid-call and every client reconnects and resumes the room. Finally the demo room page with two
 * participants is screenshotted (into docs/screenshots/demo-room.png with UPDATE_SCREENSHOTS=1).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { e2eAvailable, startE2E, until, sleep, type E2E, type PcStats } from './support/harness.js';

const run = e2eAvailable('e2e room');
const NAMES = ['ann', 'ben', 'cat'] as const;

describe.skipIf(!run)('three-party mesh room through TURN (Chromium)', () => {
  let e2e: E2E;
  const pages: Record<string, Page> = {};

  const stats = (p: Page): Promise<Record<string, PcStats>> => p.evaluate(() => window.E2E.allStats());

  /** Every page sees both others over relay/relay with frames decoded and audio received (growing since `since`). */
  async function meshFlows(since?: Record<string, Record<string, PcStats>>): Promise<Record<string, Record<string, PcStats>>> {
    const out: Record<string, Record<string, PcStats>> = {};
    for (const name of NAMES) {
      const p = pages[name]!;
      const others = NAMES.filter((n) => n !== name);
      const prev = since?.[name];
      await until(
        p,
        async ([others, prev]) => {
          const s = (await window.E2E.allStats()) as Record<string, PcStats>;
          return others.every((o) => s[o] && s[o].state === 'connected' && s[o].framesDecoded > (prev?.[o]?.framesDecoded ?? 0) + 5 && s[o].audioPackets > (prev?.[o]?.audioPackets ?? 0) + 10);
        },
        20_000,
        [others, prev] as const,
      );
      out[name] = await stats(p);
      for (const o of others) expect(out[name]![o], `${name} ← ${o}`).toMatchObject({ local: 'relay', remote: 'relay', state: 'connected' });
    }
    return out;
  }

  beforeAll(async () => {
    e2e = await startE2E();
    for (const name of NAMES) {
      const p = (pages[name] = await e2e.page(name));
      const token = await e2e.token(name);
      await p.evaluate(async (t) => {
        await window.E2E.connect(t);
        await window.E2E.makeMedia();
      }, token);
    }
  });

  afterAll(async () => {
    await e2e?.close();
  });

  let before: Record<string, Record<string, PcStats>>;

  it('connects every pair (perfect negotiation, joins in quick succession) with media both ways', async () => {
    const roomId = await e2e.createRoom('mesh');
    await Promise.all(NAMES.map((n) => pages[n]!.evaluate((id) => window.E2E.join(id), roomId)));
    before = await meshFlows();
    const q = await pages.ann!.evaluate(async () => [...(await window.E2E.room.getQuality()).values()].map((x: { mos: number; localCandidateType: string }) => [x.localCandidateType, x.mos]));
    expect(q).toHaveLength(2);
    for (const [type, mos] of q) {
      expect(type).toBe('relay');
      expect(mos).toBeGreaterThan(3.5);
    }
  });

  it('delivers room chat to everyone and keeps history', async () => {
    await pages.ann!.evaluate(() => window.E2E.room.sendMessage('hello mesh'));
    await pages.ben!.evaluate(() => window.E2E.room.sendMessage('hi ann'));
    for (const n of ['ben', 'cat']) await until(pages[n]!, () => window.E2E.roomEvents.includes('msg:ann:hello mesh'), 5_000);
    await until(pages.cat!, () => window.E2E.roomEvents.includes('msg:ben:hi ann'), 5_000);
    const history = await pages.cat!.evaluate(async () => (await window.E2E.room.loadHistory({ beforeSeq: 1_000_000, limit: 10 })).map((m: { text: string }) => m.text));
    expect(history).toEqual(expect.arrayContaining(['hello mesh', 'hi ann']));
  });

  it('survives a signalling restart mid-call: clients reconnect and the room resumes', async () => {
    const t0 = Date.now();
    await e2e.platform.restart();
    for (const n of NAMES) await until(pages[n]!, () => window.E2E.roomEvents.some((e: string) => e.startsWith('resumed:')), 20_000);
    const resumedMs = Date.now() - t0;
    for (const n of NAMES) {
      const ev = await pages[n]!.evaluate(() => window.E2E.clientEvents);
      expect(ev).toEqual(expect.arrayContaining(['state:reconnecting', 'state:connected', 'reconnected']));
    }
    // media flows again between every pair (frames and packets keep increasing), and signalling works again
    await meshFlows(before);
    await pages.cat!.evaluate(() => window.E2E.room.sendMessage('after restart'));
    for (const n of ['ann', 'ben']) await until(pages[n]!, () => window.E2E.roomEvents.includes('msg:cat:after restart'), 5_000);
    for (const n of NAMES) expect(await pages[n]!.evaluate(() => window.E2E.room.participants.size)).toBeGreaterThanOrEqual(2);
    console.log(`room resumed on all 3 clients ${resumedMs} ms after the restart began`);
  });

  it('screenshots the demo room with two participants', async () => {
    for (const n of NAMES) await pages[n]!.evaluate(() => window.E2E.client.disconnect());
    const shots: Page[] = [];
    const roomId = await e2e.createRoom('demo');
    for (const name of ['alice', 'bob']) {
      const p = await e2e.page(`demo-${name}`);
      const token = await e2e.token(name);
      await p.goto(`${e2e.platform.baseUrl}/demo/room.html?identity=${name}&room=${roomId}&relay=1&auto=1&token=${encodeURIComponent(token)}`);
      shots.push(p);
    }
    const [a] = shots;
    await until(a!, () => document.querySelectorAll('.tile[data-video="1"]').length >= 1 && [...document.querySelectorAll('video')].every((v) => v.readyState >= 2), 20_000);
    await until(a!, () => document.querySelectorAll('.tile .q')[1]?.textContent !== '', 10_000);
    await a!.evaluate(() => window.demo.room.sendMessage('Hi Bob, can you see me?'));
    await shots[1]!.evaluate(() => window.demo.room.sendMessage('Loud and clear!'));
    await sleep(2_500); // let the quality panel fill in
    // The committed image is refreshed only on request, so test runs leave the tree clean.
    const dir = process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : 'test-results';
    mkdirSync(dir, { recursive: true });
    await a!.screenshot({ path: `${dir}/demo-room.png` });
  });
});

declare global {
  interface Window {
    demo: any;
  }
}
