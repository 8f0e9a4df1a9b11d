import { describe, expect, it } from 'vitest';
import { ChorusError, SecAggServer, type SecAggSetupInput } from '@chorus/core';
import { createLocalSecureComputation } from './secure-computation.js';

const setup = (roundId: string): SecAggSetupInput => ({ roundId, participants: 3, neighbours: 2, threshold: 2, seed: new Uint8Array(32).fill(7), length: 300, quantizationBits: 12, clipNorm: 1, maxWeight: 10 });
const update = (i: number) => Float32Array.from({ length: 300 }, (_, k) => Math.sin(k + i) * 0.01);

describe('createLocalSecureComputation', () => {
  it('runs a participant\'s side of a whole round; an update kept by the trainer is masked without passing through the caller', async () => {
    // Prepare: three participants, each with its own computation (as three workers would be)
    const server = await SecAggServer.create(setup('r1'));
    const parts = [1, 2, 3].map((id) => ({ id, c: createLocalSecureComputation() }));
    // Execute
    for (const p of parts) server.receiveAdvertise(await p.c.begin('r1', setup('r1'), p.id));
    const keys = server.closeAdvertise();
    for (const p of parts) server.receiveShares(await p.c.share('r1', keys.get(p.id)!));
    const shares = server.closeShares();
    parts[0]!.c.keep('r1', update(1));
    server.receiveMasked(await parts[0]!.c.mask('r1', shares.get(1)!, undefined, 5));
    for (const p of parts.slice(1)) server.receiveMasked(await p.c.mask('r1', shares.get(p.id)!, update(p.id), 5));
    const requests = server.closeMasked();
    for (const p of parts) {
      server.receiveUnmasking(await p.c.unmask('r1', requests.get(p.id)!));
      await p.c.end('r1');
    }
    const { mean } = await server.finish();
    // Assert: the unmasked mean is the three updates' mean (up to 12-bit quantization)
    let err = 0;
    let norm = 0;
    for (let k = 0; k < 300; k++) {
      const m = (update(1)[k]! + update(2)[k]! + update(3)[k]!) / 3;
      err += (mean[k]! - m) ** 2;
      norm += m * m;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.02);
    // Assert: an ended round is forgotten
    await expect(parts[0]!.c.share('r1', { keys: [] })).rejects.toMatchObject({ code: 'ROUND_CLOSED' });
  });

  it('refuses to begin a round twice, and to mask with no update given or kept', async () => {
    const c = createLocalSecureComputation();
    await c.begin('r2', setup('r2'), 1);
    await expect(c.begin('r2', setup('r2'), 1)).rejects.toBeInstanceOf(ChorusError);
    await expect(c.mask('r2', { shares: [] }, undefined, 1)).rejects.toThrow(/no update to mask/);
  });

  it('forgets the oldest rounds beyond four, so an abandoned round does not keep its keys', async () => {
    const c = createLocalSecureComputation();
    for (let i = 0; i < 5; i++) await c.begin(`old-${i}`, setup(`old-${i}`), 1);
    await expect(c.share('old-0', { keys: [] })).rejects.toThrow(/secure round old-0 is not in progress here/);
    // The newest is still there: its participant answers (and refuses too few neighbours).
    await expect(c.share('old-4', { keys: [] })).rejects.toMatchObject({ reason: 'BELOW_THRESHOLD' });
  });
});
