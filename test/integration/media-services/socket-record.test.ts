/**
 * The SDK's recording path for gateway calls: socket `dial:control { action: 'record' }` needs the token's `record`
 * grant and reaches services.gateway.control (→ SBC gateway → recording controller); `dial:start { roomId }` needs
 * the room in the grants (per-room recording policy). The SBC side is replaced by a stub here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { connectClient, request, type ClientSocket } from '../../support/socket-client.js';
import type { DialGateway } from '../../../runtime/signalling/services.js';

describe('dial:control record and dial:start roomId (token grants)', () => {
  let platform: TestPlatform;
  let tenantId: string;
  const controls: Array<Parameters<DialGateway['control']>[0]> = [];
  const dials: Array<Parameters<DialGateway['dial']>[0]> = [];
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform();
    platform.services.gateway = {
      dial: async (r) => (dials.push(r), { callId: 'ca_stub' }),
      control: async (r) => void controls.push(r),
      answer: async () => undefined,
    };
    ({ tenantId } = await platform.createTenant('rec-grants'));
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await platform?.stop();
  });

  const connect = async (grants: Parameters<TestPlatform['mintToken']>[2]) => {
    const { socket } = await connectClient(platform.baseUrl, await platform.mintToken(tenantId, 'alice', grants));
    sockets.push(socket);
    return socket;
  };

  it('refuses record without the grant and forwards it with the grant', async () => {
    const without = await connect({ dialOut: true });
    const denied = await request(without, 'dial:control', { callId: 'ca_1', action: 'record', recording: 'start' });
    expect(denied).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
    expect(controls).toHaveLength(0);
    // other control actions are not affected by the grant
    expect(await request(without, 'dial:control', { callId: 'ca_1', action: 'hold' })).toMatchObject({ ok: true });

    const withGrant = await connect({ dialOut: true, record: true });
    for (const recording of ['start', 'pause', 'resume', 'stop'] as const) {
      expect(await request(withGrant, 'dial:control', { callId: 'ca_1', action: 'record', recording, ...(recording === 'start' ? { announce: true } : {}) })).toMatchObject({ ok: true });
    }
    expect(controls.filter((c) => c.action === 'record').map((c) => [c.recording, c.announce])).toEqual([['start', true], ['pause', undefined], ['resume', undefined], ['stop', undefined]]);
    expect(controls.at(-1)).toMatchObject({ tenantId, identity: 'alice', callId: 'ca_1' });
    expect(await request(withGrant, 'dial:control', { callId: 'ca_1', action: 'record', recording: 'rewind' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  });

  it('passes the room of a dial only when the token grants it', async () => {
    const s = await connect({ dialOut: true, rooms: ['rm_a'] });
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
    expect(await request(s, 'dial:start', { to: '+15551234567', sdp, roomId: 'rm_b' })).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORIZED' } });
    expect(await request(s, 'dial:start', { to: '+15551234567', sdp, roomId: 'rm_a' })).toMatchObject({ ok: true, data: { callId: 'ca_stub' } });
    expect(dials.at(-1)).toMatchObject({ tenantId, identity: 'alice', roomId: 'rm_a' });
  });
});
