import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../random/seeded-random.js';
import { initialPersonalLayers, personalLayersOrStart, personalWeightsForPrediction, PERSONAL_INIT_SEED } from './personal-start.js';
import { seededGlorotWeights } from './seeded-init.js';

// dense1: kernel 2×2 + bias 2; output: kernel 2×1 + bias 1 → 9 values.
const layout = [
  { name: 'dense1/kernel', shape: [2, 2] },
  { name: 'dense1/bias', shape: [2] },
  { name: 'output/kernel', shape: [2, 1] },
  { name: 'output/bias', shape: [1] },
];
const head = layout.slice(2);
const seededHead = [...seededGlorotWeights(layout, createSeededRandom(PERSONAL_INIT_SEED)).slice(6)];

describe('initialPersonalLayers', () => {
  it('cuts the personal tensors out of the seeded Glorot draw over the whole model', () => {
    const start = initialPersonalLayers(layout, head);
    expect(start.layout).toEqual(head);
    expect([...start.values]).toEqual(seededHead);
    // The bias starts at 0, the kernel does not
    expect(start.values[2]).toBe(0);
    expect(start.values.slice(0, 2).some((v) => v !== 0)).toBe(true);
  });
});

describe('personalLayersOrStart', () => {
  it("keeps the device's stored head where it fits the model, and starts from the seeded head otherwise", () => {
    const stored = { layout: head, values: Float32Array.from([7, 8, 9]) };
    const otherShape = { layout: [{ name: 'output/kernel', shape: [3, 1] }, { name: 'output/bias', shape: [1] }], values: Float32Array.from([1, 2, 3, 4]) };

    expect([...personalLayersOrStart(layout, ['output'], stored).values]).toEqual([7, 8, 9]);
    expect([...personalLayersOrStart(layout, ['output'], undefined).values]).toEqual(seededHead);
    expect([...personalLayersOrStart(layout, ['output'], otherShape).values]).toEqual(seededHead);
  });
});

describe('personalWeightsForPrediction', () => {
  it('FedPer and FedRep: the personal layers, stored or seeded', () => {
    const stored = { layout: head, values: Float32Array.from([7, 8, 9]) };
    expect([...personalWeightsForPrediction(layout, { method: 'fedper', personalLayers: ['output'] }, stored)!.values]).toEqual([7, 8, 9]);
    expect([...personalWeightsForPrediction(layout, { method: 'fedrep', personalLayers: ['output'] }, undefined)!.values]).toEqual(seededHead);
  });

  it('Ditto: the whole personal copy, unless there is none, it does not fit, or the device chose the shared model', () => {
    const own = { layout, values: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
    const ditto = { method: 'ditto', personalLayers: [] } as const;

    expect(personalWeightsForPrediction(layout, ditto, own)).toBe(own);
    expect(personalWeightsForPrediction(layout, ditto, undefined)).toBeUndefined();
    expect(personalWeightsForPrediction(layout, ditto, { ...own, useShared: true })).toBeUndefined();
    expect(personalWeightsForPrediction(layout, ditto, { layout: head, values: Float32Array.from([1, 2, 3]) })).toBeUndefined();
  });
});
