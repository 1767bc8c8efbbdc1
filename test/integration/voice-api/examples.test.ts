/**
 * docs/examples: the auto-attendant webhook server (started as the README says, `node docs/examples/auto-attendant.mjs`)
 * answers every branch with a document the SBC's interpreter accepts (parseDocument: CallDocument with defaults)
 * and refuses unsigned requests; the click-to-call script originates through the REST API (fake SBC engine) and
 * follows the call to its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { webhookHeaders, WebhookSender } from '../../../runtime/core/webhooks.js';
import type { CallDocument, VoiceHookEvent } from '../../../runtime/core/protocol/voice.js';
import { parseDocument } from '../../../runtime/sbc/voice/hooks.js';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { newTenant } from '../rest/helpers.js';
import { listenInRange, startFakeSbc } from './support.js';

const ROOT = join(import.meta.dirname, '../../..');
const HOST = '127.0.17.3';
const SECRET = 'whsec_example_test';
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listenInRange(s, HOST);
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts an example script; resolves once it printed `ready` (or exits). */
function run(script: string, env: Record<string, string>, ready?: RegExp): Promise<{ child: ChildProcess; out: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [join(ROOT, 'docs/examples', script)], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${script} did not start: ${out}`)), 10_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready && ready.test(out)) {
        clearTimeout(t);
        resolve({ child, out: () => out, exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    if (!ready) {
      clearTimeout(t);
      resolve({ child, out: () => out, exited });
    }
    void exited.then(() => {
      clearTimeout(t);
      if (ready && !ready.test(out)) reject(new Error(`${script} exited: ${out}`));
    });
  });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
});

describe('auto-attendant example', () => {
  let base = '';
  beforeAll(async () => {
    const port = await freePort();
    base = `http://${HOST}:${port}`;
    await run('auto-attendant.mjs', { HOST, PORT: String(port), CPAAS_WEBHOOK_SECRET: SECRET, PUBLIC_URL: base, SALES_USER: 'sales', MAILBOX: 'reception' }, /listening/);
  });

  const event = (e: Partial<VoiceHookEvent>): VoiceHookEvent => ({
    event: 'verb.result', tenantId: 'acme', callId: 'ca_example1', direction: 'inbound', from: '+14155550100', to: '+14155550199', variables: {}, ...e,
  });
  /** Posts a signed event (as the SBC does) and returns the parsed, validated document. */
  async function hook(path: string, e: VoiceHookEvent): Promise<CallDocument> {
    const body = JSON.stringify(e);
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: webhookHeaders(SECRET, body, 'evt_1', Date.now()), body });
    expect(res.status).toBe(200);
    return parseDocument(await res.json()); // throws when the interpreter would refuse it
  }
  const verbs = (d: CallDocument) => d.map((v) => v.verb);

  it('incoming call: the menu (gather with its action hook)', async () => {
    const d = await hook('/incoming', event({ event: 'call.incoming' }));
    expect(verbs(d)).toEqual(['answer', 'gather']);
    expect(d[1]).toMatchObject({ verb: 'gather', numDigits: 1, actionHook: `${base}/menu` });
  });

  it('1 → dial the sales SIP user; no answer → voicemail', async () => {
    const d = await hook('/menu', event({ verb: 'gather', result: { digits: '1', reason: 'numDigits' } }));
    expect(verbs(d)).toEqual(['tag', 'dial']);
    expect(d[1]).toMatchObject({ targets: [{ type: 'user', name: 'sales' }], actionHook: `${base}/dial-result` });
    const noAnswer = await hook('/dial-result', event({ verb: 'dial', result: { dialStatus: 'no-answer', durationSeconds: 0 } }));
    expect(verbs(noAnswer)).toEqual(['play', 'record']);
    expect(verbs(await hook('/dial-result', event({ verb: 'dial', result: { dialStatus: 'answered', durationSeconds: 42 } })))).toEqual(['hangup']);
  });

  it('2 → record a voicemail; then goodbye', async () => {
    const d = await hook('/menu', event({ verb: 'gather', result: { digits: '2', reason: 'numDigits' } }));
    expect(verbs(d)).toEqual(['tag', 'play', 'record']);
    expect(d[2]).toMatchObject({ voicemail: { mailbox: 'reception', kind: 'sip-user' }, finishOnKey: '#', actionHook: `${base}/recorded` });
    expect(verbs(await hook('/recorded', event({ verb: 'record', result: { voicemailId: 'vm_1', durationSeconds: 3, reason: 'finishOnKey' } })))).toEqual(['play', 'hangup']);
  });

  it('invalid or no input → error tone and the menu again; the third time goodbye', async () => {
    const e = (digits: string, callId = 'ca_invalid') => event({ callId, verb: 'gather', result: { digits, reason: digits ? 'numDigits' : 'timeout' } });
    const d1 = await hook('/menu', e('9'));
    expect(verbs(d1)).toEqual(['play', 'redirect']);
    expect(d1[1]).toMatchObject({ url: `${base}/incoming` });
    expect(verbs(await hook('/menu', e('')))).toEqual(['play', 'redirect']);
    expect(verbs(await hook('/menu', e('*')))).toEqual(['play', 'hangup']);
  });

  it('status callbacks (platform envelope) are acknowledged', async () => {
    const body = JSON.stringify(WebhookSender.event('acme', 'call.status', { event: 'call.status', callId: 'ca_example1', status: 'completed', sequence: 4 }));
    const res = await fetch(`${base}/status`, { method: 'POST', headers: webhookHeaders(SECRET, body, 'evt_2', Date.now()), body });
    expect(res.status).toBe(204);
  });

  it('refuses unsigned, wrongly signed and stale requests', async () => {
    const body = JSON.stringify(event({ event: 'call.incoming' }));
    expect((await fetch(`${base}/incoming`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status).toBe(401);
    expect((await fetch(`${base}/incoming`, { method: 'POST', headers: webhookHeaders('wrong-secret', body, 'e', Date.now()), body })).status).toBe(401);
    expect((await fetch(`${base}/incoming`, { method: 'POST', headers: webhookHeaders(SECRET, body, 'e', Date.now() - 3_600_000), body })).status).toBe(401);
    // a body changed after signing
    expect((await fetch(`${base}/incoming`, { method: 'POST', headers: webhookHeaders(SECRET, body, 'e', Date.now()), body: body.replace('ca_example1', 'ca_other') })).status).toBe(401);
  });
});

describe('click-to-call example', () => {
  let p: TestPlatform;
  let sbc: Awaited<ReturnType<typeof startFakeSbc>>;
  beforeAll(async () => {
    const secret = randomBytes(16).toString('hex');
    sbc = await startFakeSbc(secret);
    p = await startTestPlatform({ overrides: { sbcControlUrl: sbc.url, gateway: { secret: { value: secret } } } });
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    await sbc?.close();
  });

  it('originates to the agent with a document that dials the customer, follows the call, prints status callbacks', async () => {
    const t = await newTenant(p, 'c2c');
    const webhookSecret = await p.services.tenants.webhookSecret(t.tenantId);
    const statusPort = await freePort();
    const proc = await run('click-to-call.mjs', {
      CPAAS_URL: p.baseUrl, CPAAS_API_KEY: t.apiKey, AGENT: 'user:alice', CUSTOMER: '+14155550123', FROM: 'support',
      STATUS_PORT: String(statusPort), STATUS_HOST: HOST, CPAAS_WEBHOOK_SECRET: webhookSecret!,
    });
    // wait for the originate to reach the (fake) SBC
    for (let i = 0; i < 100 && sbc.engine.originated.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const req = sbc.engine.originated[0]!;
    expect(req).toMatchObject({ tenantId: t.tenantId, to: { type: 'user', name: 'alice' }, from: 'support', tag: { source: 'click-to-call' }, statusCallback: { url: `http://${HOST}:${statusPort}/status` } });
    const doc = parseDocument(req.application.document);
    expect(doc.map((v) => v.verb)).toEqual(['play', 'dial', 'hangup']);
    expect(doc[1]).toMatchObject({ targets: [{ type: 'phone', number: '+14155550123' }], callerId: 'support' });

    // the call's status callbacks reach the script through the real deliverer (signed with the tenant secret)
    const { StatusCallbacks } = await import('../../../runtime/sbc/voice/status-callbacks.js');
    const { silentLogger } = await import('../../../runtime/core/logging.js');
    const cbs = new StatusCallbacks({ engine: sbc.engine, log: silentLogger, webhookSecret: async () => webhookSecret });
    const callId = [...sbc.engine.calls.keys()][0]!;
    sbc.engine.emit(callId, 'ringing');
    await new Promise((r) => setTimeout(r, 1500));
    sbc.engine.emit(callId, 'answered');
    await sbc.engine.modify(t.tenantId, callId, { action: 'hangup' });
    await cbs.drain();
    cbs.close();
    const code = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(code, proc.out()).toBe(0);
    expect(proc.out()).toContain(`calling user:alice (call ${callId})`);
    expect(proc.out()).toMatch(/status #2: ringing/);
    expect(proc.out()).toMatch(/status #4: completed/);
  }, 30_000);
});
