import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '../../support/requires.js';
import { goertzel } from '../../runtime/media-agent/audio-support.js';
import type { Frame } from '../../../runtime/sbc/voice/contracts.js';
import { ToneSource } from '../../../runtime/sbc/voice/media/sources.js';
import {
  ENGINE_IP, TAIL_SEND_BYE, TAIL_WAIT_BYE, TENANT, UAC_IP, closePeers, haveRtpengine, haveSipp, peer, seedVoice, sipp, startVoiceBed, until, type VoiceBed,
} from './harness.js';

const run = requires('sipp', haveSipp, 'sipp (Debian sip-tester) not installed')
  && requires('rtpengine', haveRtpengine, 'rtpengine (Debian rtpengine-daemon) not installed');
const SBC = `${ENGINE_IP}:5060`;

const listen = (ep: { onFrame(cb: (f: Frame) => void): () => void }) => {
  const frames: Frame[] = [];
  ep.onFrame((f) => frames.push(f));
  return { frames, samples: () => frames.flatMap((f) => Array.from(f)) };
};
const loudest = (s: number[], cands: number[]) => cands.map((hz) => [hz, goertzel(s, hz)] as const).sort((a, b) => b[1] - a[1])[0]![0];

/** The caller accepts a REFER (202) and reports the transfer done (NOTIFY sipfrag 200), then waits for our BYE. */
const TAIL_REFER = `<recv request="REFER">
    <action><ereg regexp="tag=[^;>\\r\\n ]*" search_in="hdr" header="From:" check_it="true" assign_to="sbctag"/></action>
  </recv>
  <send><![CDATA[
SIP/2.0 202 Accepted
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
NOTIFY sip:__TO__@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Caller" <sip:__FROM__@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:__TO__@[remote_ip]:[remote_port]>;[$sbctag]
Call-ID: [call_id]
CSeq: 2 NOTIFY
Event: refer
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag;version=2.0
Max-Forwards: 70
Content-Length: [len]

SIP/2.0 200 OK
]]></send>
  <recv response="200"/>
  ${TAIL_WAIT_BYE()}
  <Reference variables="sbctag"/>`;

describe.runIf(run)('programmable voice: modify, queues, sip_refer, tag', () => {
  let bed: VoiceBed;
  let numberSeq = 200;
  const appNumber = async (path: string, doc: unknown) => {
    bed.app.routes.set(path, doc);
    const e164 = `+1555000${numberSeq++}`;
    await bed.repo.putNumber({ tenantId: TENANT, e164, destination: { type: 'application', url: `${bed.app.url}${path}` } });
    return e164;
  };
  const uac = (to: string, tail: string, media: { ip: string; port: number }, port = 5061) =>
    sipp('uac.xml', [SBC, '-i', UAC_IP, '-p', String(port), '-m', '1', '-timeout', '30s'], { TO: to, FROM: '+12125550100', TAIL: tail, MIP: media.ip, MPORT: String(media.port) });

  beforeAll(async () => {
    bed = await startVoiceBed();
    await seedVoice(bed.repo);
  }, 30_000);
  afterEach(() => closePeers());
  afterAll(async () => {
    await bed?.close();
  });

  it('modify: mute/hold flags, DTMF to the caller, redirect to an inline document, tags in the call record', async () => {
    const to = await appNumber('/hold', [{ verb: 'tag', data: { campaign: 'x', attempt: 2 } }, { verb: 'answer' }, { verb: 'pause', seconds: 30 }]);
    const phone = await peer(UAC_IP);
    const heard = listen(phone);
    const digits: string[] = [];
    phone.onDtmf((d) => digits.push(d));
    const caller = uac(to, TAIL_WAIT_BYE(), { ip: UAC_IP, port: phone.port });
    const voice = bed.sbc.voice!;
    await until(() => voice.list(TENANT).some((c) => c.status === 'answered' && c.verb === 'pause'), 8000, 'the pause');
    const id = voice.list(TENANT)[0]!.callId;
    expect((await voice.modify(TENANT, id, { action: 'mute' })).muted).toBe(true);
    expect((await voice.modify(TENANT, id, { action: 'hold' })).held).toBe(true);
    await expect(voice.modify('other', id, { action: 'hangup' })).rejects.toMatchObject({ code: 'CALL_NOT_FOUND' });
    // rtpengine forwards our DTMF to the phone only once it has learnt where the phone is: some media first.
    await voice.modify(TENANT, id, { action: 'redirect', application: { document: [{ verb: 'play', source: { tone: { frequencies: [800], durationMs: 500 } } }, { verb: 'pause', seconds: 30 }] } });
    await until(() => heard.frames.length > 10, 5000, 'the redirected tone');
    await voice.modify(TENANT, id, { action: 'dtmf', digits: '7#' });
    await until(() => digits.length === 2, 3000, 'the DTMF');
    expect(digits).toEqual(['7', '#']);
    expect(loudest(heard.samples().slice(0, 3200), [440, 800, 1200])).toBe(800);
    await voice.modify(TENANT, id, { action: 'hangup' });
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    await bed.sbc.cdr.flush();
    const rec = bed.repo.calls.get(`${TENANT}/${id}`)!;
    expect(rec.sip.tags).toEqual({ campaign: 'x', attempt: 2 });
    expect(rec.state).toBe('ended');
  }, 30_000);

  it('enqueue / dequeue bridge a waiting caller with an agent', async () => {
    const waitTo = await appNumber('/wait', [{ verb: 'enqueue', queue: 'support', timeoutSeconds: 20, actionHook: `${bed.app.url}/dequeued` }]);
    bed.app.routes.set('/dequeued', [{ verb: 'hangup' }]);
    const agentTo = await appNumber('/agent', [{ verb: 'play', source: { tone: { frequencies: [300], durationMs: 100 } } }, { verb: 'dequeue', queue: 'support', timeoutSeconds: 10 }]);
    const a = await peer(UAC_IP);
    const b = await peer(UAC_IP);
    const aHeard = listen(a);
    const bHeard = listen(b);
    const waiting = uac(waitTo, TAIL_WAIT_BYE(), { ip: UAC_IP, port: a.port }, 5061);
    await until(() => bed.sbc.voice!.interpreter.queueLength(TENANT, 'support') === 1, 8000, 'the caller in the queue');
    await until(() => aHeard.frames.length > 5, 5000, 'the queue music');
    const agent = uac(agentTo, TAIL_SEND_BYE(3000), { ip: UAC_IP, port: b.port }, 5062);
    await until(() => bed.sbc.voice!.interpreter.queueLength(TENANT, 'support') === 0, 8000, 'the dequeue');
    await new Promise((r) => setTimeout(r, 300));
    aHeard.frames.length = 0;
    bHeard.frames.length = 0;
    await Promise.all([a.play(new ToneSource({ frequencies: [500], durationMs: 800 })), b.play(new ToneSource({ frequencies: [900], durationMs: 800 }))]);
    const [ra, rb] = await Promise.all([waiting.done, agent.done]);
    expect(ra.code, ra.output).toBe(0);
    expect(rb.code, rb.output).toBe(0);
    expect(loudest(bHeard.samples().slice(400, 4000), [500, 900])).toBe(500);
    expect(loudest(aHeard.samples().slice(400, 4000), [500, 900])).toBe(900);
    const res = bed.app.requests.find((q) => q.path === '/dequeued')!;
    expect(res.body.result).toEqual({ queueResult: 'bridged' });
  }, 40_000);

  it('sip_refer asks the caller to transfer; a NOTIFY 200 ends our side', async () => {
    const to = await appNumber('/refer', [{ verb: 'answer' }, { verb: 'sip_refer', referTo: 'sip:sales@example.com' }, { verb: 'pause', seconds: 20 }]);
    const phone = await peer(UAC_IP);
    const t0 = Date.now();
    const caller = uac(to, TAIL_REFER, { ip: UAC_IP, port: phone.port });
    const r = await caller.done;
    expect(r.code, r.output).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.messages).toContain('Refer-To: <sip:sales@example.com>');
  }, 30_000);
});
