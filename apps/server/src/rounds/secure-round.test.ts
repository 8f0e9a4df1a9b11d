import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { SecAggParticipant, secureAggregationSchema } from '@chorus/core';
import { FakeClock } from './clock.js';
import { SecureRound, type SecureStageEvent } from './secure-round.js';

const LENGTH = 3000;

/** A logger whose every line is kept, to check what the server writes about a secure round. */
function capturedLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/**
 * Participants run in process; the server's sends are routed to them. `leaveAfterMasking` closes
 * its tab once its masked input is in: it never answers the unmasking request.
 */
async function secureRound(options: { participants: number; leaveAfterMasking?: string; leaveBeforeMasking?: string }) {
  const clock = new FakeClock();
  const { log, lines } = capturedLogger();
  const ids = Array.from({ length: options.participants }, (_, i) => `p${i + 1}`);
  const config = secureAggregationSchema.parse({ neighbours: 4, threshold: 3, quantizationBits: 10, stageDeadlineMs: 5_000 });
  const pending: Promise<unknown>[] = [];
  const people = new Map<string, SecAggParticipant>();
  const updates = new Map(ids.map((p, i) => [p, Float32Array.from({ length: LENGTH }, (_, k) => Math.cos(k * 0.003 + i * 0.2) * 0.05)]));
  const examples = (p: string) => 10 + Number(p.slice(1));
  let round!: SecureRound;
  const answer = (p: string, work: () => Promise<void>) => pending.push(work().catch(() => undefined));
  const io = {
    send(p: string, event: SecureStageEvent, payload: unknown) {
      const me = people.get(p)!;
      if (event === 'secagg:keys') answer(p, async () => round.receive(p, 'share', await me.shareKeys(payload as never)));
      if (event === 'secagg:shares') {
        if (p === options.leaveBeforeMasking) return round.leave(p);
        answer(p, async () => round.receive(p, 'mask', await me.maskedInput(payload as never, updates.get(p)!, examples(p))));
      }
      if (event === 'secagg:unmask') {
        if (p === options.leaveAfterMasking) return round.leave(p);
        answer(p, async () => round.receive(p, 'unmask', await me.unmask(payload as never)));
      }
    },
  };
  round = await SecureRound.open({ roundId: 'task-r1', participantIds: ids, config, length: LENGTH, clipNorm: 3, maxWeight: 100, clock, log, io });
  for (const p of ids) people.set(p, await SecAggParticipant.create(round.setup, round.idOf(p)));
  for (const p of ids) round.receive(p, 'advertise', await people.get(p)!.advertise());
  // Every stage closes once all expected answers are in; let the async crypto run to completion.
  while (pending.length) await pending.shift();
  const result = await round.result;
  return { result, lines, updates, examples, round, clock };
}

describe('a secure round on the server', () => {
  it('commits the weighted mean when a participant closes its tab after sending its masked input', async () => {
    const { result, updates, examples } = await secureRound({ participants: 6, leaveAfterMasking: 'p2' });
    expect(result.included).toHaveLength(6);
    let weight = 0;
    const mean = new Float64Array(LENGTH);
    for (const [p, u] of updates) {
      weight += examples(p);
      for (let k = 0; k < LENGTH; k++) mean[k] += examples(p) * u[k]!;
    }
    let err = 0;
    let norm = 0;
    for (let k = 0; k < LENGTH; k++) {
      err += (result.mean[k]! - mean[k]! / weight) ** 2;
      norm += (mean[k]! / weight) ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.05);
  });

  it('leaves out a participant that closes its tab before masking, recovering its pairwise masks', async () => {
    const { result } = await secureRound({ participants: 6, leaveBeforeMasking: 'p5' });
    expect(result.included).toEqual([1, 2, 3, 4, 6]);
    expect(result.report.recoveredDropouts).toBe(1);
  });

  it('logs counts only: no individual update, masked or not, reaches the log', async () => {
    const { lines, updates } = await secureRound({ participants: 5, leaveAfterMasking: 'p3' });
    const all = lines.join('');
    expect(lines.length).toBeGreaterThan(3);
    // No long numeric array (a vector, a key, a share) and no value of any update appears.
    expect(all).not.toMatch(/\[(\d+,){16,}/);
    expect(all).not.toMatch(/"(masked|shares|update|sum|mean|seed|keys)":\s*[[{"]/);
    for (const u of updates.values()) expect(all).not.toContain(String(u[1]));
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(600);
  });

  it('closes a stage at its deadline, and abandons below the threshold with nothing requested', async () => {
    const clock = new FakeClock();
    const { log } = capturedLogger();
    const sent: string[] = [];
    const config = secureAggregationSchema.parse({ neighbours: 4, threshold: 3, stageDeadlineMs: 1_000 });
    const round = await SecureRound.open({ roundId: 'r', participantIds: ['a', 'b', 'c', 'd', 'e'], config, length: 10, clipNorm: 1, maxWeight: 10, clock, log, io: { send: (p, e) => sent.push(`${p}:${e}`) } });
    const a = await SecAggParticipant.create(round.setup, round.idOf('a'));
    round.receive('a', 'advertise', await a.advertise());
    expect(() => round.receive('b', 'advertise', { id: 1 })).toThrow(/own protocol id/);
    clock.advance(1_000);
    await expect(round.result).rejects.toMatchObject({ reason: 'BELOW_THRESHOLD' });
    expect(round.stage).toBe('abandoned');
    expect(sent).toEqual([]);
  });
});
