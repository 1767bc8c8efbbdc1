/**
 * Pure parts of the media services: the recording state machine (pause = metadata `paused=` stretches), the recording
 * policy (tenant, trunk, room), and the transcoding decision toward a trunk's codecs. No daemons.
 */
import { describe, expect, it } from 'vitest';
import { parseMetadataString } from '../../../runtime/media-agent/recordings/rtpengine-files.js';
import { RecordingPolicy, changeRecording, recordingState, type RecordableCall } from '../../../runtime/sbc/recording/recording.js';
import { applyCallMediaPolicy, sdpAudioCodecs, transcodeOptions } from '../../../runtime/sbc/media-services/policy.js';
import type { MediaSession } from '../../../runtime/sbc/media/rtpengine.js';
import type { DialTarget } from '../../../runtime/sbc/routing/target.js';

/** A MediaSession stand-in that logs the ng commands setRecording would send. */
function fakeMedia(): MediaSession & { sent: Array<{ on: boolean; metadata?: string }> } {
  const sent: Array<{ on: boolean; metadata?: string }> = [];
  const m = {
    sent, active: true, record: undefined as { metadata: string } | undefined, offerExtra: undefined,
    async setRecording(on: boolean, metadata?: string) {
      sent.push({ on, ...(metadata ? { metadata } : {}) });
      if (on) m.record = { metadata: metadata ?? '' };
    },
  };
  return m as unknown as MediaSession & { sent: typeof sent };
}

const sdp = (pts: string, maps: string[]) => `v=0\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP ${pts}\r\n${maps.map((m) => `a=rtpmap:${m}\r\n`).join('')}`;

describe('recording state machine', () => {
  it('start → pause → resume → stop; pause stretches travel in the metadata', async () => {
    const media = fakeMedia();
    const call: RecordableCall = { tenantId: 'acme', media, parties: ['sip:alice@x', 'bob'] };
    let now = 1_000;
    const clock = () => now;
    await expect(changeRecording(call, 'ca_1', 'pause', clock)).rejects.toMatchObject({ code: 'CALL_STATE_CONFLICT' });
    expect(await changeRecording(call, 'ca_1', 'start', clock)).toBe('recording');
    expect(await changeRecording(call, 'ca_1', 'start', clock)).toBe('recording'); // no-op
    now = 5_000;
    expect(await changeRecording(call, 'ca_1', 'pause', clock)).toBe('paused');
    expect(parseMetadataString(media.sent.at(-1)!.metadata!)).toMatchObject({ tenant: 'acme', call: 'ca_1', parties: 'alice,bob', paused: '5000-' });
    now = 7_000;
    expect(await changeRecording(call, 'ca_1', 'resume', clock)).toBe('recording');
    expect(parseMetadataString(media.sent.at(-1)!.metadata!).paused).toBe('5000-7000');
    expect(parseMetadataString(media.record!.metadata).paused).toBe('5000-7000'); // later re-offers carry it too
    now = 9_000;
    await changeRecording(call, 'ca_1', 'pause', clock);
    now = 9_500;
    expect(await changeRecording(call, 'ca_1', 'stop', clock)).toBe('stopped');
    // a stop while paused closes the stretch first, then stops
    expect(media.sent.at(-1)).toEqual({ on: false });
    expect(parseMetadataString(media.sent.at(-2)!.metadata!).paused).toBe('5000-7000,9000-9500');
    expect(media.record).toBeUndefined(); // re-offers after stop do not ask for recording again
    await expect(changeRecording(call, 'ca_1', 'start', clock)).rejects.toMatchObject({ code: 'CALL_STATE_CONFLICT' });
    expect(recordingState(media)).toBe('stopped');
  });
});

describe('recording policy', () => {
  it('records by tenant, by trunk and by room', () => {
    const p = new RecordingPolicy({ tenants: ['t1'], rooms: ['t2/r1', 't3/*'], announceTenants: ['t1'] });
    expect(p.recordsByDefault('t1')).toBe(true);
    expect(p.recordsByDefault('t2')).toBe(false);
    expect(p.recordsByDefault('t2', { trunkRecords: true })).toBe(true);
    expect(p.recordsByDefault('t2', { roomId: 'r1' })).toBe(true);
    expect(p.recordsByDefault('t2', { roomId: 'r2' })).toBe(false);
    expect(p.recordsByDefault('t3', { roomId: 'any' })).toBe(true);
    expect(p.announcesByDefault('t1')).toBe(true);
    expect(p.announcesByDefault('t2')).toBe(false);
    expect(new RecordingPolicy({ tenants: ['*'] }).recordsByDefault('x')).toBe(true);
  });

  it('applyCallMediaPolicy: trunk record flag arms the offer; trunk codecs decide transcoding', () => {
    const target = (o: Partial<DialTarget>): DialTarget => ({ kind: 'gateway', uri: 'sip:1@gw', fromUser: 'a', toUser: '1', toHost: 'gw', headers: {}, label: 't/g', ...o });
    const policy = new RecordingPolicy({ tenants: [] });
    const pcmu = sdp('0 101', ['0 PCMU/8000', '101 telephone-event/8000']);
    const m1 = fakeMedia();
    expect(applyCallMediaPolicy({ media: m1, recording: policy, tenantId: 't', callId: 'ca_1', parties: ['a', 'b'], offerSdp: pcmu, targets: [target({ trunkRecord: true, trunkCodecs: ['PCMA'] })] }))
      .toEqual({ recorded: true, transcode: ['PCMA'] });
    expect(m1.record?.metadata).toContain('call=ca_1');
    expect(m1.offerExtra).toEqual({ codec: { mask: ['PCMU'], transcode: ['PCMA'] } });
    const m2 = fakeMedia();
    expect(applyCallMediaPolicy({ media: m2, recording: policy, tenantId: 't', callId: 'ca_2', parties: [], offerSdp: pcmu, targets: [target({ trunkCodecs: ['PCMU', 'PCMA'] })] })).toEqual({ recorded: false });
    expect(m2.offerExtra).toBeUndefined();
    const m3 = fakeMedia();
    expect(applyCallMediaPolicy({ media: m3, recording: policy, tenantId: 't', callId: 'ca_3', parties: [], offerSdp: pcmu, inboundTrunk: { record: true } }).recorded).toBe(true);
  });
});

describe('transcoding decision', () => {
  it('reads codec names (rtpmap and static payload types) and transcodes only without a shared codec', () => {
    expect(sdpAudioCodecs(sdp('0 8 9 101', ['101 telephone-event/8000']))).toEqual(['PCMU', 'PCMA', 'G722']);
    expect(sdpAudioCodecs(sdp('96 0 13', ['96 opus/48000/2', '0 PCMU/8000', '13 CN/8000']))).toEqual(['opus', 'PCMU']);
    expect(transcodeOptions(sdp('0', []), ['pcmu'])).toBeUndefined(); // case-insensitive match
    expect(transcodeOptions(sdp('0', []), ['G722'])).toEqual({ codec: { mask: ['PCMU'], transcode: ['G722'] } });
    expect(transcodeOptions(sdp('0', []), undefined)).toBeUndefined();
    expect(transcodeOptions('v=0\r\n', ['PCMA'])).toBeUndefined();
  });
});
