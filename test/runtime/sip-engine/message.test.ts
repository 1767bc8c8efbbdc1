import { describe, expect, it } from 'vitest';
import {
  SipParseError, StreamFramer, canonicalName, parseMessage, parseNameAddr, parseUri, parseVia, splitList,
} from '../../../runtime/sip-engine/message.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'));

describe('sip message parser', () => {
  it('parses compact headers, folded lines, comma lists and the body by Content-Length', () => {
    const m = parseMessage(crlf('INVITE sip:bob@example.com SIP/2.0\nv: SIP/2.0/UDP a:1;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2\n' +
      'f: "A, B" <sip:a@x>;tag=1\nt: <sip:bob@example.com>\ni: c1\nCSeq: 7 INVITE\nMax-Forwards: 70\nSubject: one\n two\nl: 4\n\nbodyEXTRA'));
    expect(m.method).toBe('INVITE');
    expect(m.getAll('via')).toHaveLength(2);
    expect(m.fromTag).toBe('1');
    expect(m.cseq).toEqual({ seq: 7, method: 'INVITE' });
    expect(m.get('subject')).toBe('one two');
    expect(m.body.toString()).toBe('body');
    expect(m.toString()).toContain('Content-Length: 4\r\n\r\nbody');
  });

  it('rejects missing headers, CSeq mismatch and bad start lines with a partial message', () => {
    const err = (() => {
      try { parseMessage(crlf('BYE sip:x SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\nCSeq: 1 INVITE\n\n')); } catch (e) { return e; }
      return undefined;
    })() as SipParseError;
    expect(err).toBeInstanceOf(SipParseError);
    expect(err.message).toMatch(/missing from.*CSeq method mismatch/);
    expect(err.partial?.method).toBe('BYE');
    expect(() => parseMessage(Buffer.from('\x00\x01garbage'))).toThrow(SipParseError);
  });

  it('parses URIs, name-addrs, Vias (IPv6 too)', () => {
    expect(parseUri('sip:alice:pw@[::1]:5070;transport=tcp;lr?h=1')).toMatchObject({
      user: 'alice', host: '[::1]', port: 5070, params: { transport: 'tcp', lr: null }, headers: 'h=1',
    });
    expect(parseUri('http://x')).toBeUndefined();
    expect(parseNameAddr('sip:a@b;tag=9')).toEqual({ uri: 'sip:a@b', params: { tag: '9' } });
    expect(parseVia('SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKa;rport')).toMatchObject({
      transport: 'TCP', host: '[2001:db8::1]', port: 5061, params: { branch: 'z9hG4bKa', rport: null },
    });
    expect(splitList('<sip:a;x=1,2>, "x,y" <sip:b>')).toEqual(['<sip:a;x=1,2>', '"x,y" <sip:b>']);
    expect(canonicalName('call-id')).toBe('Call-ID');
    expect(canonicalName('m')).toBe('Contact');
  });

  it('frames a TCP stream by Content-Length across chunks, skipping keep-alive CRLFs', () => {
    const f = new StreamFramer(1000);
    const msg = 'OPTIONS sip:x SIP/2.0\r\nContent-Length: 3\r\n\r\nabc';
    const whole = Buffer.from(`\r\n\r\n${msg}${msg}`);
    expect(f.push(whole.subarray(0, 20))).toEqual([]);
    const out = f.push(whole.subarray(20));
    expect(out.map(String)).toEqual([msg, msg]);
    expect(() => new StreamFramer(100).push(Buffer.from('X sip:x SIP/2.0\r\nContent-Length: 500\r\n\r\n'))).toThrow(/too large/);
  });
});
