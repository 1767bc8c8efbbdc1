/**
 * The media agent: periodic jobs beside one rtpengine. Job 1 (here): heartbeat the node into the MediaNode
 * registry with its load. A node that stops answering ng pings is simply not heartbeated, so SBCs stop
 * using it once its entry expires (3 × interval). Later jobs (recording conversion/upload) plug in as more
 * `AgentTask`s without touching the heartbeat.
 */
import type { Logger } from '../core/logging.js';
import type { SipRepository } from '../core/storage/sip-types.js';
import type { RtpEngineNode } from '../sbc/media/rtpengine.js';

export interface AgentTask {
  name: string;
  intervalMs: number;
  run(): Promise<void>;
}

export interface MediaAgentDeps {
  node: RtpEngineNode;
  repo: Pick<SipRepository, 'heartbeatMediaNode'>;
  nodeId: string;
  advertise: { host: string; port: number };
  capacity: number;
  heartbeatSeconds: number;
  log: Logger;
  /** Base URL of this node's play-source endpoint (play-sources.ts), advertised in the heartbeat. */
  playSourcesUrl?: string;
  /** Extra periodic jobs (recording upload, …). */
  tasks?: AgentTask[];
}

export interface MediaAgent {
  /** Runs one heartbeat now; resolves true when the node answered and the registry was written. */
  heartbeat(): Promise<boolean>;
  readonly lastSessions: number;
  stop(): Promise<void>;
}

export async function startMediaAgent(d: MediaAgentDeps): Promise<MediaAgent> {
  let lastSessions = 0;
  let healthy: boolean | undefined;
  const heartbeat = async (): Promise<boolean> => {
    const alive = await d.node.ping();
    if (!alive) {
      if (healthy !== false) d.log.warn({ node: d.nodeId }, 'rtpengine does not answer ng ping; heartbeats paused');
      healthy = false;
      return false;
    }
    try {
      lastSessions = await d.node.activeSessions();
      await d.repo.heartbeatMediaNode(
        { id: d.nodeId, ngHost: d.advertise.host, ngPort: d.advertise.port, activeSessions: lastSessions, capacity: d.capacity, ...(d.playSourcesUrl ? { playSourcesUrl: d.playSourcesUrl } : {}) },
        Math.ceil(d.heartbeatSeconds * 3),
      );
      if (healthy !== true) d.log.info({ node: d.nodeId, ng: `${d.advertise.host}:${d.advertise.port}` }, 'media node heartbeating');
      healthy = true;
      return true;
    } catch (err) {
      d.log.warn({ err, node: d.nodeId }, 'heartbeat failed');
      healthy = false;
      return false;
    }
  };
  const tasks: AgentTask[] = [{ name: 'heartbeat', intervalMs: d.heartbeatSeconds * 1000, run: async () => void (await heartbeat()) }, ...(d.tasks ?? [])];
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  for (const t of tasks) {
    let busy = false;
    const tick = () => {
      if (busy) return;
      busy = true;
      const p = t.run().catch((err: unknown) => d.log.warn({ err, task: t.name }, 'agent task failed')).finally(() => {
        busy = false;
        running.delete(p);
      });
      running.add(p);
    };
    timers.push(setInterval(tick, t.intervalMs));
  }
  await heartbeat();
  return {
    heartbeat,
    get lastSessions() {
      return lastSessions;
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.all([...running]);
    },
  };
}
