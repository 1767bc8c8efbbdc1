/** runtime/sbc/features.ts: `voice.rtpHost: "auto"` resolution and the voice RTP range checks (docs/deploy.md). */
import { describe, expect, it } from 'vitest';
import type { NetworkInterfaceInfo } from 'node:os';
import { resolveRtpHost, validateVoiceRtp } from '../../../runtime/sbc/features.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: `${address}/24` }) as NetworkInterfaceInfo;

describe('resolveRtpHost', () => {
  it('returns explicit addresses unchanged', () => {
    expect(resolveRtpHost('127.0.0.1', '10.0.0.5:5060')).toBe('127.0.0.1');
  });
  it('auto: the SIP engine contact when it is private (drachtio binds the instance private IP)', () => {
    expect(resolveRtpHost('auto', '10.0.3.7:5060', {})).toBe('10.0.3.7');
    expect(resolveRtpHost('auto', '172.20.1.2:5060', {})).toBe('172.20.1.2');
  });
  it('auto: otherwise the first physical interface, skipping loopback and container bridges', () => {
    const ifaces = { lo: [v4('127.0.0.1', true)], docker0: [v4('172.17.0.1')], 'br-1a2b': [v4('172.18.0.1')], ens5: [v4('10.0.9.9')] };
    expect(resolveRtpHost('auto', '203.0.113.5:5060', ifaces)).toBe('10.0.9.9');
  });
  it('auto without any usable address is a config error', () => {
    expect(() => resolveRtpHost('auto', undefined, { lo: [v4('127.0.0.1', true)] })).toThrow(/rtpHost/);
  });
});

describe('validateVoiceRtp', () => {
  it('accepts a range of at least two ports and names the fields otherwise', () => {
    expect(() => validateVoiceRtp({ minPort: 41000, maxPort: 44999 })).not.toThrow();
    expect(() => validateVoiceRtp({ minPort: 42000, maxPort: 41000 })).toThrow(/rtpMinPort.*rtpMaxPort/);
    expect(() => validateVoiceRtp({ minPort: 41000, maxPort: 41000 })).toThrow(/two ports/);
  });
});
