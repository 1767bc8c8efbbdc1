/**
 * The media agent advertises its play-source endpoint in the media-node heartbeat (`playSourcesUrl`, additive), and the
 * SBC's PlaySourceResolver finds it by node id through the registry (cached; re-read when a node is unknown).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startMediaAgent } from '../../../runtime/media-agent/agent.js';
import type { RtpEngineNode } from '../../../runtime/sbc/media/rtpengine.js';
import { PlaySourceResolver } from '../../../runtime/sbc/media-services/remote.js';

const log = pino({ level: 'silent' });
const fakeNode = { ping: async () => true, activeSessions: async () => 3 } as unknown as RtpEngineNode;

describe('media agent heartbeat: play-source endpoint', () => {
  it('carries playSourcesUrl only when the endpoint is on', async () => {
    const items: Array<Record<string, unknown>> = [];
    const repo = { heartbeatMediaNode: async (n: Record<string, unknown>) => void items.push(n) };
    const base = { node: fakeNode, repo, nodeId: 'm1', advertise: { host: '10.0.0.5', port: 22222 }, capacity: 10, heartbeatSeconds: 60, log };
    const on = await startMediaAgent({ ...base, playSourcesUrl: 'http://10.0.0.5:9470' });
    await on.stop();
    const off = await startMediaAgent(base);
    await off.stop();
    expect(items[0]).toMatchObject({ id: 'm1', ngHost: '10.0.0.5', activeSessions: 3, playSourcesUrl: 'http://10.0.0.5:9470' });
    expect(items[1]).not.toHaveProperty('playSourcesUrl');
  });

  it('the SBC resolver looks the URL up by node id, caching the registry', async () => {
    let reads = 0;
    let now = 0;
    let nodes = [{ id: 'm1', playSourcesUrl: 'http://10.0.0.5:9470' }];
    const r = new PlaySourceResolver({ log, now: () => now, cacheMs: 5_000, nodes: async () => (reads++, nodes) });
    expect(await r.agentUrl('m1')).toBe('http://10.0.0.5:9470');
    expect(await r.agentUrl('m1')).toBe('http://10.0.0.5:9470');
    expect(reads).toBe(1);
    nodes = [...nodes, { id: 'm2', playSourcesUrl: 'http://10.0.0.6:9470' }];
    expect(await r.agentUrl('m2')).toBe('http://10.0.0.6:9470'); // unknown node: re-read at once
    expect(reads).toBe(2);
    expect(await r.agentUrl('static-0')).toBeUndefined();
    now = 10_000;
    nodes = [];
    expect(await r.agentUrl('m1')).toBeUndefined(); // expired cache, node gone
    expect(await new PlaySourceResolver({ log }).agentUrl('m1')).toBeUndefined();
  });
});
