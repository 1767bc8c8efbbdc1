import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../runtime/local/platform.js';
import { silentLogger } from '../../runtime/core/logging.js';
import { connectClient, request } from '../support/socket-client.js';

describe('the local platform (npm start)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cpaas-local-'));
  let platform: LocalPlatform | undefined;
  const start = () =>
    startLocalPlatform({ dataDir, rootDir: resolve('.'), host: '127.0.0.1', port: 0, turn: { enabled: false, port: 0, minPort: 0, maxPort: 0 }, log: silentLogger });
  afterAll(async () => {
    await platform?.stop();
  });

  it('starts, reports its components, keeps data and the admin key across restarts', async () => {
    platform = await start();
    expect(platform.secretsCreated).toBe(true);
    expect(platform.components.find((c) => c.name.startsWith('coturn'))).toMatchObject({ running: false, fix: expect.stringContaining('CPAAS_TURN') });
    const secretsFile = join(dataDir, 'secrets.json');
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    const adminKey = platform.secrets.adminKey;

    // The demo's token helper: a token of the local tenant and a room created by name.
    const tokenRes = await fetch(`${platform.baseUrl}/local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'alice', roomName: 'demo' }) });
    expect(tokenRes.status).toBe(200);
    const tok = (await tokenRes.json()) as { token: string; roomId: string };
    expect(tok.roomId).toMatch(/^rm_/);
    const { socket } = await connectClient(platform.baseUrl, tok.token);
    const joined = await request(socket, 'room:join', { roomId: tok.roomId });
    expect(joined.ok).toBe(true);
    await request(socket, 'chat:send', { roomId: tok.roomId, text: 'persist me' });
    socket.close();
    await platform.stop();

    platform = await start();
    expect(platform.secretsCreated).toBe(false);
    expect(platform.secrets.adminKey).toBe(adminKey);
    expect(JSON.parse(readFileSync(secretsFile, 'utf8')).adminKey).toBe(adminKey);
    const again = await fetch(`${platform.baseUrl}/local/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'bob', roomName: 'demo' }) });
    const tok2 = (await again.json()) as { token: string; roomId: string };
    expect(tok2.roomId).toBe(tok.roomId);
    const { socket: s2 } = await connectClient(platform.baseUrl, tok2.token);
    const j2 = await request<{ recentMessages: Array<{ text: string }> }>(s2, 'room:join', { roomId: tok2.roomId });
    expect(j2.ok && j2.data.recentMessages.map((m) => m.text)).toEqual(['persist me']);
    s2.close();
  });
});
