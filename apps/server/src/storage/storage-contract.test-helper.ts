import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import type { NewVersion, RoundClose, Storage, VersionRetention } from './storage.js';

/**
 * One contract for every Storage implementation (socket.io runs one suite against every adapter):
 * sqlite-storage.test.ts and pg-storage.test.ts call describeStorage with their own harness.
 */
export interface StorageHarness {
  /** Opens this test's database; a second call reopens the same one (what a restart sees). */
  open(retention?: VersionRetention): Promise<Storage>;
  /** Removes the database (file, or PostgreSQL schema). */
  destroy(): Promise<void>;
}

const config = taskConfigSchema.parse({ id: 't1', name: 'T1', data: { kind: 'tabular', inputShape: [2], numClasses: 2 } });
const layout = [{ name: 'dense/kernel', shape: [2, 2] }];

export function version(v: number, round: number, payload: number[]): NewVersion {
  return { taskId: 't1', version: v, round, payload: Uint8Array.from(payload), strategyState: v > 0 ? Uint8Array.from([9, v]) : null, metrics: {}, createdAt: 1000 + v };
}

export function close(round: number, receipts: RoundClose['receipts'] = []): RoundClose {
  return { taskId: 't1', round, closedAt: 5000, participants: receipts.filter((r) => r.accepted).length, failures: [{ participantId: 'p9', code: 'DISCONNECTED', reason: 'socket closed' }], bytesUp: 300, bytesDown: 900, metrics: { loss: 0.5 }, receipts };
}

const task = (status: 'created' | 'running' = 'running') => ({ id: 't1', config, topology: { t: 1 }, layout, status, createdAt: 1 }) as const;

export function describeStorage(name: string, newHarness: () => Promise<StorageHarness>): void {
  describe(`Storage contract: ${name}`, () => {
    let h: StorageHarness;
    const opened: Storage[] = [];
    const open = async (retention?: VersionRetention): Promise<Storage> => {
      const s = await h.open(retention);
      opened.push(s);
      return s;
    };
    beforeEach(async () => {
      h = await newHarness();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await h.destroy();
    });

    it('keeps a task across reopening, and refuses a second task with the same id', async () => {
      const first = await open();
      await first.createTask(task('created'), version(0, 0, [1, 2, 3]));
      await first.close();

      const second = await open();
      const tasks = await second.listTasks();

      expect(tasks.map((t) => [t.id, t.status, t.config.name, t.createdAt, t.updatedAt])).toEqual([['t1', 'created', 'T1', 1, 1]]);
      expect(tasks[0]!.layout).toEqual(layout);
      expect(tasks[0]!.topology).toEqual({ t: 1 });
      await expect(second.createTask(task(), version(0, 0, [1]))).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await second.setTaskStatus('t1', 'paused', 77);
      expect(await second.getTask('t1')).toMatchObject({ status: 'paused', updatedAt: 77 });
      await expect(second.setTaskStatus('nope', 'paused', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('commits a version, closes its round and stores receipts together, and reads them back after reopening', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1, 2, 3]));
      await s.upsertParticipant('t1', 'p1', { backend: 'wasm' }, 10);
      await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 2 });
      const receipt = { taskId: 't1', round: 1, participantId: 'p1', bytes: 300, l2Norm: 1.5, accepted: true, code: null, reason: null, at: 200 };
      const refused = { ...receipt, participantId: 'p2', l2Norm: null, accepted: false, code: 'OUT_OF_BOUNDS', reason: 'norm too large' };

      await s.commitRound(close(1, [receipt, refused]), version(1, 1, [4, 5, 6, 7]));
      await s.close();
      const reopened = await open();

      const latest = await reopened.latestVersion('t1');
      expect([latest!.version, latest!.round, [...latest!.payload], [...latest!.strategyState!], latest!.byteLength]).toEqual([1, 1, [4, 5, 6, 7], [9, 1], 4]);
      expect((await reopened.getVersion('t1', 0))!.strategyState).toBeNull();
      const [round] = await reopened.listRounds('t1', 10);
      expect([round!.state, round!.participants, round!.bytesUp, round!.failures[0]!.code, round!.metrics, round!.closedAt]).toEqual(['committed', 1, 300, 'DISCONNECTED', { loss: 0.5 }, 5000]);
      expect(await reopened.listReceipts('t1', 1)).toEqual([receipt, refused]);
      expect((await reopened.getParticipant('t1', 'p1'))).toMatchObject({ contributions: 1, capabilities: { backend: 'wasm' }, firstSeen: 10 });
      expect(await reopened.getParticipant('t1', 'nobody')).toBeNull();
      expect((await reopened.listVersions('t1', 10)).map((v) => [v.version, v.byteLength])).toEqual([[1, 4], [0, 3]]);
    });

    it("keeps each version's difference from the one before, for every process and after reopening", async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1, 2, 3]));
      await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 1 });
      await s.commitRound(close(1), { ...version(1, 1, [4, 5, 6]), delta: Uint8Array.from([7, 0, 255, 3]) });
      await s.openRound({ taskId: 't1', round: 2, roundId: 't1-r2', version: 1, startedAt: 200, selected: 1 });
      await s.commitRound(close(2), version(2, 2, [5, 6, 7]));
      await s.close();
      const reopened = await open();

      expect([...(await reopened.getVersionDelta('t1', 1))!]).toEqual([7, 0, 255, 3]);
      expect(await reopened.getVersionDelta('t1', 0)).toBeNull();
      expect(await reopened.getVersionDelta('t1', 2)).toBeNull();
      expect(await reopened.getVersionDelta('t1', 9)).toBeNull();
      expect(await reopened.getVersionDelta('nope', 1)).toBeNull();
    });

    it('looks up many participants of a task in one call, leaving out unknown ids and other tasks', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));
      await s.createTask({ ...task(), id: 't2' }, { ...version(0, 0, [1]), taskId: 't2' });
      for (let i = 0; i < 300; i++) await s.upsertParticipant('t1', `p${i}`, { backend: i % 2 ? 'wasm' : 'webgl' }, i);
      await s.upsertParticipant('t2', 'q1', { backend: 'cpu' }, 1);

      const ids = [...Array.from({ length: 300 }, (_, i) => `p${i}`), 'nobody', 'q1', "p'; DROP TABLE participants; --"];
      const found = await s.getParticipants('t1', ids);

      expect(found.map((p) => p.id).sort()).toEqual(Array.from({ length: 300 }, (_, i) => `p${i}`).sort());
      expect(found.find((p) => p.id === 'p7')).toMatchObject({ taskId: 't1', capabilities: { backend: 'wasm' }, firstSeen: 7 });
      expect(await s.getParticipants('t1', [])).toEqual([]);
      expect((await s.getParticipants('t2', ids)).map((p) => p.id)).toEqual(['q1']);
      await s.close();
    });

    it('writes nothing when any part of a commit fails', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));

      // Round 7 was never opened, so closing it fails after the version row was inserted.
      await expect(s.commitRound(close(7), version(1, 7, [2]))).rejects.toMatchObject({ code: 'INTERNAL' });

      expect((await s.latestVersion('t1'))!.version).toBe(0);
      expect(await s.listVersions('t1', 10)).toHaveLength(1);
    });

    it('abandons rounds left open by a crash and numbers the next round after them', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));
      await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 3 });
      await s.openRound({ taskId: 't1', round: 2, roundId: 't1-r2', version: 0, startedAt: 200, selected: 3 });
      await s.abandonRound(close(1), 'too few updates');

      const n = await s.abandonOpenRounds('t1', 'server restart', 999);

      expect(n).toBe(1);
      const rounds = await s.listRounds('t1', 10);
      expect(rounds.map((r) => [r.round, r.state, r.abandonReason])).toEqual([
        [2, 'abandoned', 'server restart'],
        [1, 'abandoned', 'too few updates'],
      ]);
      expect(await s.lastRoundNumber('t1')).toBe(2);
      await s.addReceipt({ taskId: 't1', round: 2, participantId: 'late', bytes: 1, l2Norm: null, accepted: false, code: 'ROUND_CLOSED', reason: null, at: 1000 });
      expect((await s.listReceipts('t1', 2)).map((r) => r.participantId)).toEqual(['late']);
    });

    it('merges evaluation metrics into the version and its round', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));
      await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 100, selected: 1 });
      await s.commitRound(close(1), { ...version(1, 1, [2]), metrics: { trainLoss: 0.9 } });

      await s.addVersionMetrics('t1', 1, { accuracy: 0.75 });

      expect((await s.getVersion('t1', 1))!.metrics).toEqual({ trainLoss: 0.9, accuracy: 0.75 });
      expect((await s.listRounds('t1', 1))[0]!.metrics).toEqual({ loss: 0.5, accuracy: 0.75 });
      await expect(s.addVersionMetrics('t1', 9, { accuracy: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('keeps the newest N versions, every k-th, and the one an open round started from', async () => {
      const s = await open({ keepLast: 3, keepEvery: 4 });
      await s.createTask(task(), version(0, 0, [0]));
      // Round 2 stays open on version 1 while rounds 3..10 commit versions 1..8 (a late round, as after a failover).
      for (let r = 1; r <= 9; r++) {
        await s.openRound({ taskId: 't1', round: r, roundId: `t1-r${r}`, version: r === 1 ? 0 : r === 2 ? 1 : r - 2, startedAt: r, selected: 1 });
        if (r !== 2) await s.commitRound(close(r), version(r === 1 ? 1 : r - 1, r, [r]));
      }

      const kept = (await s.listVersions('t1', 100)).map((v) => v.version);

      // Newest 3: 8, 7, 6; every 4th: 4, 0; held by the open round 2: 1.
      expect(kept).toEqual([8, 7, 6, 4, 1, 0]);
      expect(await s.getVersion('t1', 5)).toBeNull();
    });

    it('refuses a commit by a stale fencing token inside the commit, and a fence lowered by an old owner', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));
      expect(await s.fenceToken('t1')).toBe(0);
      await s.raiseFence('t1', 1);
      await s.openRound({ taskId: 't1', round: 1, roundId: 't1-r1', version: 0, startedAt: 1, selected: 1 });
      await s.commitRound(close(1), version(1, 1, [2]), 1);
      await s.openRound({ taskId: 't1', round: 2, roundId: 't1-r2', version: 1, startedAt: 2, selected: 1 });

      // Execute: another process takes the task over (token 2) while owner 1 is closing round 2.
      await s.raiseFence('t1', 2);
      const stale = s.commitRound(close(2), version(2, 2, [3]), 1);

      // Assert: nothing of the stale commit landed; the old owner cannot lower the fence; the new one commits.
      await expect(stale).rejects.toMatchObject({ code: 'NOT_TASK_OWNER' });
      await expect(s.raiseFence('t1', 1)).rejects.toMatchObject({ code: 'NOT_TASK_OWNER' });
      expect((await s.latestVersion('t1'))!.version).toBe(1);
      expect((await s.listRounds('t1', 1))[0]!.state).toBe('collecting');
      await s.raiseFence('t1', 2);
      await s.commitRound(close(2), version(2, 2, [3]), 2);
      expect((await s.latestVersion('t1'))!.version).toBe(2);
      expect(await s.fenceToken('t1')).toBe(2);
    });

    it('keeps accounts, sessions and settings; a username is taken once; first-run creation closes itself', async () => {
      const s = await open();
      const owner = await s.auth.createUser('owner', 'hash-1', 'operator', null, 10, true);
      await expect(s.auth.createUser('second', 'hash-2', 'operator', null, 11, true)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(s.auth.createUser('owner', 'hash-3', 'viewer', 'owner', 12)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await s.auth.createUser('viewer1', 'hash-4', 'viewer', 'owner', 13);
      const session = await s.auth.createSession(owner.id, 100, 200);

      expect(await s.auth.countUsers()).toBe(2);
      expect(await s.auth.findByUsername('owner')).toEqual({ ...owner, passwordHash: 'hash-1' });
      expect((await s.auth.listUsers()).map((u) => [u.username, u.role, u.createdBy])).toEqual([['owner', 'operator', null], ['viewer1', 'viewer', 'owner']]);
      expect(await s.auth.sessionUser(session, 150)).toEqual(owner);
      expect(await s.auth.sessionUser(session, 200)).toBeNull();
      await s.auth.revokeSession(session, 160);
      expect(await s.auth.sessionUser(session, 170)).toBeNull();
      expect(await s.auth.setSettingIfAbsent('secret', 'a')).toBe('a');
      expect(await s.auth.setSettingIfAbsent('secret', 'b')).toBe('a');
      await s.auth.setSetting('secret', 'c');
      expect(await s.auth.getSetting('secret')).toBe('c');
      await s.auth.deleteSetting('secret');
      expect(await s.auth.getSetting('secret')).toBeNull();
    });

    it('advances participant token generations by compare-and-set and revokes them', async () => {
      const s = await open();
      expect(await s.participantTokens.advance('t1', 'p1', null, 'c1')).toBe(true);
      expect(await s.participantTokens.advance('t1', 'p1', null, 'c2')).toBe(false);
      const both = await Promise.all([s.participantTokens.advance('t1', 'p1', 1, 'c3'), s.participantTokens.advance('t1', 'p1', 1, 'c4')]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(await s.participantTokens.get('t1', 'p1')).toMatchObject({ generation: 2, revoked: false });
      await s.participantTokens.revoke('t1', 'p1', 5);
      expect(await s.participantTokens.get('t1', 'p1')).toMatchObject({ generation: 2, revoked: true });
      expect(await s.participantTokens.advance('t1', 'p1', 2, 'c5')).toBe(false);
    });

    it('appends to the audit log and pages back newest first', async () => {
      const s = await open();
      for (let i = 1; i <= 3; i++) await s.audit.record({ at: i, actor: 'owner', action: 'task.start', target: `t${i}`, outcome: 'ok', status: 200, ip: '127.0.0.1', detail: null });
      const page = await s.audit.list(2);
      expect(page.map((e) => [e.seq, e.at, e.target, e.status])).toEqual([[3, 3, 't3', 200], [2, 2, 't2', 200]]);
      expect((await s.audit.list(10, page[1]!.seq)).map((e) => e.target)).toEqual(['t1']);
    });

    it('keeps partner keys, holds the daily quota under simultaneous visitors, and counts usage', async () => {
      const s = await open();
      const key = { id: 'pk_shop', name: 'Shop', allowedOrigins: ['https://shop.example'], allowedTasks: ['t1'], quotaPerDay: 3, active: true, storageFallback: 'memory' as const };
      await s.partnerKeys.put(key);
      await expect(s.partnerKeys.put({ ...key, id: 'bad' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });

      const admitted = await Promise.all(Array.from({ length: 8 }, (_, i) => s.partnerKeys.admitVisitor(key, '2026-12-01', `v${i}`)));
      await s.partnerKeys.recordParticipant('pk_shop', 't1', 'p1', '2026-12-01');
      await s.partnerKeys.recordParticipant('pk_shop', 't1', 'p1', '2026-12-01');
      await s.partnerKeys.recordAcceptedUpdate('pk_shop', '2026-12-01');
      await s.partnerKeys.recordAcceptedUpdate('pk_shop', '2026-12-01');

      expect(admitted.filter(Boolean)).toHaveLength(3);
      expect(await s.partnerKeys.admitVisitor(key, '2026-12-01', 'v0')).toBe(admitted[0]);
      expect(await s.partnerKeys.visitorsOn('pk_shop', '2026-12-01')).toBe(3);
      expect(await s.partnerKeys.usage('pk_shop', '2026-12-01')).toEqual({ participantsToday: 1, participantsAllTime: 1, updatesToday: 2, updatesAllTime: 2 });
      expect(await s.partnerKeys.list()).toEqual([key]);
      expect(await s.partnerKeys.remove('pk_shop')).toBe(true);
      expect(await s.partnerKeys.remove('pk_shop')).toBe(false);
      expect(await s.partnerKeys.usage('pk_shop', '2026-12-01')).toEqual({ participantsToday: 0, participantsAllTime: 0, updatesToday: 0, updatesAllTime: 0 });
    });
    it('keeps client-selection history and the picks of each round (pseudonymous ids only), upserting by participant', async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));
      const h = (id: string, completed: number, loss: number | null) => ({ participantId: id, invited: 3, completed, dropped: 3 - completed, lastLoss: loss, lastExamples: 60, lastDurationMs: 1234.5, lastRound: 3, signature: loss === null ? null : [0.6, -0.8] });
      await s.saveParticipantHistory!('t1', [h('p1', 2, 0.25), h('p2', 0, null)]);
      await s.saveParticipantHistory!('t1', [h('p1', 3, 0.125)]);
      const rows = (await s.loadParticipantHistory!('t1')).sort((a, b) => a.participantId.localeCompare(b.participantId));
      expect(rows).toEqual([h('p1', 3, 0.125), h('p2', 0, null)]);
      const picks = { policy: 'oort', reasons: [{ participantId: 'p1', kind: 'exploit' as const, utility: 1.5, speed: 100, reliability: 0.8, expectedMs: 900 }] };
      await s.saveRoundSelection!('t1', 4, picks);
      expect(await s.getRoundSelection!('t1', 4)).toEqual(picks);
      expect(await s.getRoundSelection!('t1', 5)).toBeNull();
    });
    it("adds an asynchronous buffer's picks to its record one dispatch at a time (a participant picked again keeps its latest reason)", async () => {
      const s = await open();
      await s.createTask(task(), version(0, 0, [1]));
      const pick = (participantId: string, kind: 'explore' | 'exploit', speed: number) => ({ participantId, kind, speed });
      await s.addRoundSelection!('t1', 2, { policy: 'oort', reasons: [pick('p1', 'explore', 10)] });
      await s.addRoundSelection!('t1', 2, { policy: 'oort', reasons: [pick('p2', 'explore', 20), pick('p3', 'exploit', 30)] });
      await s.addRoundSelection!('t1', 2, { policy: 'oort', reasons: [pick('p1', 'exploit', 11)] });
      await Promise.all([s.addRoundSelection!('t1', 3, { policy: 'oort', reasons: [pick('p4', 'explore', 40)] }), s.addRoundSelection!('t1', 3, { policy: 'oort', reasons: [pick('p5', 'explore', 50)] })]);

      expect(await s.getRoundSelection!('t1', 2)).toEqual({ policy: 'oort', reasons: [pick('p2', 'explore', 20), pick('p3', 'exploit', 30), pick('p1', 'exploit', 11)] });
      expect((await s.getRoundSelection!('t1', 3))!.reasons.map((r) => r.participantId).sort()).toEqual(['p4', 'p5']);
    });
    it("keeps the selection policy's state across a restart", async () => {
      const first = await open();
      await first.createTask(task(), version(0, 0, [1]));
      expect(await first.loadSelectorState!('t1')).toBeNull();
      await first.saveSelectorState!('t1', { epsilon: 0.5, round: 3 });
      await first.saveSelectorState!('t1', { epsilon: 0.25, round: 4 });
      await first.close();

      const second = await open();
      expect(await second.loadSelectorState!('t1')).toEqual({ epsilon: 0.25, round: 4 });
    });
  });
}
