import { describe, expect, it } from 'vitest';
import type { PersonalWeights } from '@chorus/core';
import { trainReply } from './train-reply.js';

const head: PersonalWeights = { layout: [{ name: 'output/bias', shape: [2] }], values: Float32Array.from([0.25, -0.5]) };
const trained = { delta: Float32Array.from([3, 4]), numExamples: 7, metrics: { loss: 0.5, holdoutPersonalAccuracy: 0.75 }, personal: head };
const ran = { backend: 'wasm' as const, samplesPerSecond: 12 };

describe('trainReply (the trainer worker’s answer to a train request)', () => {
  it('a secure round of a personalized task: the update stays in the worker, the personal layers go back to the page', () => {
    // Prepare
    const kept: [string, number[]][] = [];
    // Execute: local DP with clip norm 1 and no noise, so the kept update is exactly [3, 4] / 5
    const reply = trainReply({ roundId: 'r-3', keep: { localDp: { clipNorm: 1, noiseMultiplier: 0 } } }, trained, ran, { keep: (roundId, update) => void kept.push([roundId, [...update]]) });
    // Assert
    expect(kept).toHaveLength(1);
    expect(kept[0]![0]).toBe('r-3');
    kept[0]![1].forEach((v, i) => expect(v).toBeCloseTo([0.6, 0.8][i]!, 6));
    expect(reply).toMatchObject({ kept: true, numExamples: 7, metrics: { loss: 0.5, holdoutPersonalAccuracy: 0.75 }, backend: 'wasm', samplesPerSecond: 12 });
    expect(reply.delta.length).toBe(0);
    // Without these the page's store would keep last round's head while the shared layers moved on.
    expect(reply.personal?.layout).toEqual(head.layout);
    expect([...reply.personal!.values]).toEqual([0.25, -0.5]);
  });

  it('an ordinary round: the update and the personal layers both go back, nothing is kept', () => {
    const kept: string[] = [];
    const reply = trainReply({ roundId: 'r-4' }, { ...trained, delta: Float32Array.from([3, 4]) }, ran, { keep: (roundId) => void kept.push(roundId) });
    expect(kept).toEqual([]);
    expect(reply.kept).toBeUndefined();
    expect([...reply.delta]).toEqual([3, 4]);
    expect([...reply.personal!.values]).toEqual([0.25, -0.5]);
  });

  it('a task without personalization gets no personal field', () => {
    const { personal: _, ...plain } = trained;
    const reply = trainReply({ roundId: 'r-5', keep: { localDp: undefined } }, { ...plain, delta: Float32Array.from([3, 4]) }, ran, { keep: () => {} });
    expect('personal' in reply).toBe(false);
  });
});
