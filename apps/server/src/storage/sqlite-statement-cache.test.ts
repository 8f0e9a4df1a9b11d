import { describe, expect, it } from 'vitest';
import { SqliteStorage } from './sqlite-storage.js';

describe('SqliteStorage connection', () => {
  it('compiles each SQL text once and hands back the same statement', async () => {
    const s = new SqliteStorage({ path: ':memory:' });
    expect(s.db.prepare('SELECT 1 AS one')).toBe(s.db.prepare('SELECT 1 AS one'));
    expect(s.db.prepare('SELECT 1 AS one').get()).toEqual({ one: 1 });
    await s.close();
  });

  it('runs ordinary writes at synchronous=NORMAL, also after a checkpoint ran at FULL', async () => {
    const s = new SqliteStorage({ path: ':memory:', synchronous: 'FULL' });
    const mode = () => s.db.pragma('synchronous', { simple: true });
    expect(mode()).toBe(1);
    await s.createTask({ id: 't', config: {} as never, topology: {}, layout: [], status: 'created', createdAt: 1 }, { taskId: 't', version: 0, round: 0, payload: new Uint8Array([1]), strategyState: null, metrics: {}, createdAt: 1 });
    expect(mode()).toBe(1);
    expect((await s.latestVersion('t'))?.version).toBe(0);
    await s.close();
  });
});
