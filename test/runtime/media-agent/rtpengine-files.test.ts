import { describe, expect, it } from 'vitest';
import { baseOfMetadataFile, formatMetadataString, metadataList, parseMetadataString, parseRtpengineMetadata } from '../../../runtime/media-agent/recordings/rtpengine-files.js';
import { recordingIdFor, recordingS3Key } from '../../../runtime/core/storage/recordings.js';

// Captured from rtpengine 10.5.3.5 (`--recording-method=pcap`), after the call was deleted.
const FINAL = `/tmp/recx/rec/pcaps/call-1795611700502-8f0e4598af2153da.pcap


Timestamp started ms: 1795611700504.260
SDP mode: offer
SDP before RTP packet: 1

v=0\r
o=- 1 1 IN IP4 127.0.5.1\r
m=audio 32900 RTP/AVP 0\r

Timestamp terminated ms(first monologue): 1795611701121.797

call start time: 2026-11-25T13:01:40
call end time: 2026-11-25T13:01:41


tenant=acme|call=ca_123|parties=alice,bob
`;

describe('rtpengine recording files', () => {
  it('parses a finalized metadata file', () => {
    expect(baseOfMetadataFile('rtpengine-meta-call-1795611700502-8f0e4598af2153da.txt')).toBe('call-1795611700502-8f0e4598af2153da');
    expect(baseOfMetadataFile('rtpengine-meta-x.tmp')).toBeUndefined();
    expect(parseRtpengineMetadata('b', FINAL)).toEqual({
      base: 'b',
      pcapPath: '/tmp/recx/rec/pcaps/call-1795611700502-8f0e4598af2153da.pcap',
      startedAt: 1795611700504,
      finished: true,
      values: { tenant: 'acme', call: 'ca_123', parties: 'alice,bob' },
    });
    expect(parseRtpengineMetadata('b', FINAL.split('call end time')[0]!).finished).toBe(false);
  });

  it('round-trips the metadata string with reserved characters', () => {
    const s = formatMetadataString({ tenant: 'acme', call: 'ca_1|x', parties: ['sip:a|b@x', 'Doe, Jane'] });
    expect(s).toBe('tenant=acme|call=ca_1%7Cx|parties=sip%3Aa%7Cb%40x,Doe%2C%20Jane');
    const v = parseMetadataString(s);
    expect(v).toMatchObject({ tenant: 'acme', call: 'ca_1|x' });
    expect(metadataList(v.parties)).toEqual(['sip:a|b@x', 'Doe, Jane']);
  });

  it('derives deterministic, time-sortable recording ids and S3 keys', () => {
    const a = recordingIdFor('acme', 'ca_1', 'call-1-abc', 1_700_000_000_000);
    expect(recordingIdFor('acme', 'ca_1', 'call-1-abc', 1_700_000_000_000)).toBe(a);
    expect(recordingIdFor('acme', 'ca_1', 'call-1-abd', 1_700_000_000_000)).not.toBe(a);
    expect(a).toMatch(/^rec_[0-9a-z]{21}$/);
    expect(recordingIdFor('acme', 'ca_0', 'z', 1_700_000_000_001) > a).toBe(true);
    expect(recordingS3Key('acme', a, 1_700_000_000_000)).toBe(`recordings/acme/2023/11/14/${a}.wav`);
  });
});
