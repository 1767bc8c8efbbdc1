import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '../../support/platform.js';
import { hasCommand, requires } from '../../support/requires.js';
import { startCoturn } from '../../../runtime/local/coturn.js';

// Ports assigned to this suite (FACTS §1.4: one range per tool, relay range apart from the listener).
const TURN_PORT = 13500;
const PEER_PORT = 13510; // turnutils_peer also binds PEER_PORT + 1
const RELAY_MIN = 23500;
const RELAY_MAX = 23599;
const REALM = 'cpaas.test';
const SECRET = 'turn-static-auth-secret-for-tests';

const available = requires('coturn', ['turnserver', 'turnutils_uclient', 'turnutils_peer'].every(hasCommand), 'apt-get install coturn (turnserver, turnutils_*)');

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The UDP echo peer is ready when it echoes a datagram. */
async function waitForEcho(port: number, timeoutMs: number): Promise<void> {
  const sock = createSocket('udp4');
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const echoed = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 100);
        sock.once('message', () => {
          clearTimeout(t);
          resolve(true);
        });
        sock.send('ping', port, '127.0.0.1');
      });
      if (echoed) return;
    }
    throw new Error(`turnutils_peer on ${port} did not echo`);
  } finally {
    sock.close();
  }
}

function uclient(user: string, credential: string): Promise<{ code: number; out: string }> {
  const args = ['-p', String(TURN_PORT), '-u', user, '-w', credential, '-e', '127.0.0.1', '-r', String(PEER_PORT), '-n', '10', '-m', '1', '-l', '172', '127.0.0.1'];
  return new Promise((resolve) => {
    execFile('turnutils_uclient', args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe.runIf(available)('TURN credentials from the platform against coturn', () => {
  let p: TestPlatform;
  let dir: string;
  let stopTurn: (() => Promise<void>) | undefined;
  let peer: ChildProcess | undefined;

  beforeAll(async () => {
    p = await startTestPlatform({ turnSecret: SECRET, turnUrls: [`stun:127.0.0.1:${TURN_PORT}`, `turn:127.0.0.1:${TURN_PORT}?transport=udp`] });
    dir = mkdtempSync(join(tmpdir(), 'cpaas-turn-'));
    // The platform's own launcher (the one npm start uses): rendered config, foreground, stopped by PID.
    const coturn = await startCoturn({ dir, port: TURN_PORT, minPort: RELAY_MIN, maxPort: RELAY_MAX, realm: REALM, secret: SECRET, allowLoopbackPeers: true });
    stopTurn = coturn.stop;
    peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(PEER_PORT)], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForEcho(PEER_PORT, 5_000);
  });

  afterAll(async () => {
    await stop(peer);
    await stopTurn?.();
    await p?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('hands out STUN and TURN servers with REST credentials', () => {
    const { iceServers, expiresAt } = p.services.iceServers('alice');
    expect(iceServers).toEqual([
      { urls: [`stun:127.0.0.1:${TURN_PORT}`] },
      { urls: [`turn:127.0.0.1:${TURN_PORT}?transport=udp`], username: expect.stringMatching(/^\d+:alice$/), credential: expect.any(String) },
    ]);
    expect(expiresAt).toBeGreaterThan(Date.now() + 59 * 60_000);
  });

  it('allocates a relay and echoes through it with the minted credential', async () => {
    const turnServer = p.services.iceServers('alice').iceServers.find((s) => s.username)!;
    const res = await uclient(turnServer.username!, turnServer.credential!);
    expect(res.out).not.toMatch(/Cannot complete Allocation/);
    expect(res.code, res.out).toBe(0);
    // the summary line: "start_mclient: tot_send_msgs=20, tot_recv_msgs=20" (earlier progress lines have msz=…)
    const totals = /start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(res.out);
    expect(totals, res.out).not.toBeNull();
    expect(Number(totals![1])).toBeGreaterThan(0);
    expect(totals![2]).toBe(totals![1]);
    expect(res.out).toMatch(/Total lost packets 0 /);
  });

  it('refuses an allocation with a wrong credential', async () => {
    const turnServer = p.services.iceServers('mallory').iceServers.find((s) => s.username)!;
    const res = await uclient(turnServer.username!, 'bm90LXRoZS1yaWdodC1obWFj');
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/Cannot complete Allocation/);
  });

  it('refuses a credential minted for another user name', async () => {
    const alice = p.services.iceServers('alice').iceServers.find((s) => s.username)!;
    const expiry = alice.username!.split(':')[0];
    const res = await uclient(`${expiry}:bob`, alice.credential!);
    expect(res.code).not.toBe(0);
  });
});
