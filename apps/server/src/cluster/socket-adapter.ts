import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import type { Server } from 'socket.io';

/**
 * Socket.IO across server processes: every namespace (participants and /admin) broadcasts through
 * one Redis stream, so a new version, an admin event or a task status reaches sockets on every
 * process. The streams adapter reads from its last offset after a Redis reconnect, so no packet
 * sent meanwhile is lost. `prefix` keeps deployments (and test runs) sharing one Redis apart.
 */
export function installRedisAdapter(io: Server, redis: Redis, prefix: string): void {
  io.adapter(createAdapter(redis, { streamName: `${prefix}:socket.io`, channelPrefix: `${prefix}:socket.io`, sessionKeyPrefix: `${prefix}:sio:session:` }));
}
