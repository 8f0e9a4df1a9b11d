import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Announce, AnnounceBody } from './bus-messages.js';
import { ProcessBus } from './process-bus.js';
import { dropRedisPrefix, testRedisPrefix, TEST_REDIS_URL } from './redis-test-kit.test-helper.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bus(prefix: string, processId: string, announce: (a: Announce) => Promise<void>): Promise<ProcessBus> {
  const redis = new Redis(TEST_REDIS_URL);
  const b = new ProcessBus(redis, { prefix, processId, logger: pino({ level: 'silent' }) });
  await b.connect({ tell: () => undefined, ask: async () => undefined, announce });
  cleanups.push(() => {
    b.close();
    redis.disconnect();
  });
  return b;
}

const until = async (done: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
};

describe('ProcessBus announcements', () => {
  it('delivers a broadcast at once, while the announcements before it (a slow reload) still run; the others keep their order', async () => {
    const prefix = testRedisPrefix();
    cleanups.push(() => dropRedisPrefix(prefix));
    const heard: string[] = [];
    let release!: () => void;
    const reloading = new Promise<void>((r) => (release = r));
    let reloads = 0;
    await bus(prefix, 'mirror', async (a) => {
      if (a.t === 'changed') {
        heard.push(`changed ${++reloads} start`);
        if (reloads === 1) await reloading;
        heard.push(`changed ${reloads} done`);
      } else if (a.t === 'broadcast') heard.push(`broadcast ${a.event} v${(a.msg as { version: number }).version}`);
      else if (a.t === 'deliver') heard.push(`deliver ${a.items.map((i) => `${i.event} ${i.ids.join(',')}`).join('; ')}`);
    });
    const coordinator = await bus(prefix, 'coordinator', async () => undefined);
    // What a commit announces: the task changed (the mirror reloads), then the new version for its sockets.
    coordinator.announce({ t: 'changed', taskId: 't' });
    coordinator.announce({ t: 'broadcast', taskId: 't', event: 'model:updated', msg: { taskId: 't', version: 1, round: 1, metrics: {} } } as AnnounceBody);
    coordinator.announce({ t: 'changed', taskId: 't' });
    coordinator.announce({ t: 'broadcast', taskId: 't', event: 'model:updated', msg: { taskId: 't', version: 2, round: 2, metrics: {} } } as AnnounceBody);
    // The next round's cancel for a socket here, relayed by the coordinator.
    coordinator.announce({ t: 'deliver', items: [{ event: 'round:cancel', ids: ['s1', 's2'], msg: { taskId: 't', roundId: 'r3', reason: 'over' } }] });
    await until(() => heard.some((h) => h.startsWith('deliver')) && heard.includes('changed 1 start'));
    // Both versions and the relayed send reached the sockets, in order, while the first reload was still running; the second reload waits its turn.
    expect(heard.filter((h) => h.startsWith('broadcast') || h.startsWith('deliver'))).toEqual(['broadcast model:updated v1', 'broadcast model:updated v2', 'deliver round:cancel s1,s2']);
    expect(heard.filter((h) => h.startsWith('changed'))).toEqual(['changed 1 start']);
    release();
    await until(() => heard.includes('changed 2 done'));
    expect(heard.filter((h) => h.startsWith('changed'))).toEqual(['changed 1 start', 'changed 1 done', 'changed 2 start', 'changed 2 done']);
  });

  it('drops a relayed send whose message is not what its event carries, and delivers the next good one', async () => {
    const prefix = testRedisPrefix();
    cleanups.push(() => dropRedisPrefix(prefix));
    const heard: Announce[] = [];
    await bus(prefix, 'follower', async (a) => void heard.push(a));
    const coordinator = await bus(prefix, 'coordinator', async () => undefined);
    // An invite without its round, and one for no socket at all: refused by the schema.
    coordinator.announce({ t: 'deliver', items: [{ event: 'round:invite', ids: ['s1'], msg: { taskId: 't' } }] } as unknown as AnnounceBody);
    coordinator.announce({ t: 'deliver', items: [{ event: 'round:cancel', ids: [], msg: { taskId: 't', roundId: 'r1', reason: 'x' } }] });
    coordinator.announce({ t: 'deliver', items: [{ event: 'task:status', ids: ['s1'], msg: { taskId: 't', status: 'paused' } }] });
    await until(() => heard.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toEqual([{ t: 'deliver', from: 'coordinator', items: [{ event: 'task:status', ids: ['s1'], msg: { taskId: 't', status: 'paused' } }] }]);
  });
});
