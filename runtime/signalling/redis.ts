import { createClient } from 'redis';
import { createAdapter } from '@socket.io/redis-adapter';
import type { ServerOptions } from 'socket.io';
import type { Logger } from '../core/logging.js';

/**
 * The socket.io Redis adapter (ElastiCache on AWS): rooms, broadcasts and fetchSockets across instances.
 */
export async function createRedisAdapter(url: string, log: Logger): Promise<{ adapter: ServerOptions['adapter']; close(): Promise<void> }> {
  const pub = createClient({ url, socket: { reconnectStrategy: (retries) => Math.min(retries * 200, 5_000) } });
  const sub = pub.duplicate();
  for (const [name, c] of [['pub', pub], ['sub', sub]] as const) {
    c.on('error', (err: Error) => log.warn({ err, client: name }, 'redis error'));
  }
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub, { key: 'cpaas' }) as ServerOptions['adapter'],
    async close() {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
