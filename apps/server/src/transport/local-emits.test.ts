import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { Adapter, type BroadcastOptions } from 'socket.io-adapter';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createSocketTransport, taskRoom, type ChorusServer } from './socket-handlers.js';

/**
 * The Redis adapter (several processes) publishes every emit that is not `local` on its stream and
 * writes it only once Redis has answered; the other processes read and decode each one. This adapter
 * records which emits would have taken that path.
 */
const published: { rooms: string[]; event: unknown }[] = [];
class RecordingAdapter extends Adapter {
  override broadcast(packet: { data?: unknown[] }, opts: BroadcastOptions): void {
    if (!opts.flags?.local) published.push({ rooms: [...opts.rooms], event: packet.data?.[0] });
    super.broadcast(packet as never, opts);
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  published.length = 0;
});

async function serverWithParticipants(n: number) {
  const http = createServer();
  const io: ChorusServer = new Server(http, { adapter: RecordingAdapter as never, transports: ['websocket'] });
  io.on('connection', (socket) => void socket.join(taskRoom('t')));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: ClientSocket[] = [];
  for (let i = 0; i < n; i++) {
    const c = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise<void>((r) => c.once('connect', () => r()));
    clients.push(c);
  }
  // The joins above run on the server's connection handler: wait until every socket is in the room.
  while ((io.sockets.adapter.rooms.get(taskRoom('t'))?.size ?? 0) < n) await new Promise((r) => setTimeout(r, 5));
  closers.push(async () => {
    for (const c of clients) c.close();
    await new Promise<void>((r) => io.close(() => r()));
  });
  return { io, clients };
}

const received = (c: ClientSocket, event: string) => new Promise<unknown>((r) => c.once(event, r));

describe('emits to participants (several processes: the Redis adapter)', () => {
  it("writes a broadcast to this process's own sockets without publishing it to the other processes", async () => {
    const { io, clients } = await serverWithParticipants(3);
    const transport = createSocketTransport(io);
    const got = clients.map((c) => received(c, 'model:updated'));
    transport.broadcast('t', 'model:updated', { taskId: 't', version: 2, round: 2, metrics: {} });
    expect(await Promise.all(got)).toEqual(clients.map(() => ({ taskId: 't', version: 2, round: 2, metrics: {} })));
    expect(published).toEqual([]);
  });

  it('writes a direct send to a socket here locally, and sends one for a socket elsewhere through the adapter', async () => {
    const { io, clients } = await serverWithParticipants(1);
    const transport = createSocketTransport(io);
    const got = received(clients[0]!, 'task:status');
    transport.send(clients[0]!.id!, 'task:status', { taskId: 't', status: 'running' });
    expect(await got).toEqual({ taskId: 't', status: 'running' });
    expect(published).toEqual([]);
    // A socket id this process does not hold: only the adapter can reach it (on another process).
    transport.send('held-by-another-process', 'task:status', { taskId: 't', status: 'running' });
    expect(published).toEqual([{ rooms: ['held-by-another-process'], event: 'task:status' }]);
  });

  it("relays a send for a socket elsewhere over the cluster's bus when there is one, and queues relayed sends for its own sockets behind a broadcast", async () => {
    // Prepare: a relay that records what it is given (ClusterCoordination.relay in a cluster).
    const { io, clients } = await serverWithParticipants(2);
    const relayed: { ids: readonly string[]; event: string }[] = [];
    const transport = createSocketTransport(io, { relay: (ids, event) => relayed.push({ ids, event }) > 0 });
    const seen: string[] = [];
    for (const c of clients) {
      c.on('model:updated', (m: { version: number }) => seen.push(`${c.id} updated v${m.version}`));
      c.on('round:invite', (m: { round: number }) => seen.push(`${c.id} invite r${m.round}`));
    }

    // Execute: a send for a socket this process does not hold; then a new version, and an invite that
    // another process relayed here (deliver) for one of this process's sockets and one it does not hold.
    transport.send('held-by-another-process', 'task:status', { taskId: 't', status: 'running' });
    transport.broadcast('t', 'model:updated', { taskId: 't', version: 3, round: 3, metrics: {} });
    transport.deliver([clients[0]!.id!, 'held-by-another-process'], 'round:invite', { taskId: 't', roundId: 'r4', round: 4 });
    for (let i = 0; i < 400 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 5));

    // Assert: the relay got the send, the adapter published nothing; the relayed invite came after the version.
    expect(relayed).toEqual([{ ids: ['held-by-another-process'], event: 'task:status' }]);
    expect(published).toEqual([]);
    const first = clients[0]!.id!;
    expect(seen.filter((s) => s.startsWith(first))).toEqual([`${first} updated v3`, `${first} invite r4`]);
    expect(seen).toHaveLength(3);
  });
});
