import { describe, expect, it } from 'vitest';
import { defaultPersonalLayers, gatherTensors, layerOfTensor, mergeTensors, splitLayout } from './personal-split.js';

// dense1: kernel 2×2 + bias 2; output: kernel 2×1 + bias 1 → 9 values.
const layout = [
  { name: 'dense1/kernel', shape: [2, 2] },
  { name: 'dense1/bias', shape: [2] },
  { name: 'output/kernel', shape: [2, 1] },
  { name: 'output/bias', shape: [1] },
];
const values = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

describe('personal layers', () => {
  it('names the layer of a tensor and picks the output head by default', () => {
    expect(layerOfTensor('output/kernel')).toBe('output');
    expect(layerOfTensor('bias')).toBe('bias');
    expect(defaultPersonalLayers(layout)).toEqual(['output']);
  });

  it('splits the layout by layer name, keeping model order', () => {
    const { shared, personal } = splitLayout(layout, ['output']);
    expect(shared.map((t) => t.name)).toEqual(['dense1/kernel', 'dense1/bias']);
    expect(personal.map((t) => t.name)).toEqual(['output/kernel', 'output/bias']);
  });

  it('refuses an unknown layer and a split that shares nothing, naming the option', () => {
    expect(() => splitLayout(layout, ['head'])).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: 'personalization.personalLayers: no layer named "head" (the model\'s layers: dense1, output)' }));
    expect(() => splitLayout(layout, ['dense1', 'output'])).toThrow(/at least one must be shared/);
  });

  it('gathers the values of some tensors and merges parts back into the full vector', () => {
    const { shared, personal } = splitLayout(layout, ['output']);
    const s = gatherTensors(layout, values, shared);
    const p = gatherTensors(layout, values, personal);
    expect([...s]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...p]).toEqual([7, 8, 9]);
    // Parts may come in any order; tensors are found by name.
    expect([...mergeTensors(layout, [{ layout: personal, values: p }, { layout: shared, values: s }])]).toEqual([...values]);
  });

  it('refuses a part whose tensor has another shape, or a missing tensor', () => {
    const { shared } = splitLayout(layout, ['output']);
    const wrong = [{ name: 'output/kernel', shape: [1, 2] }, { name: 'output/bias', shape: [1] }];
    expect(() => mergeTensors(layout, [{ layout: shared, values: Float32Array.from([1, 2, 3, 4, 5, 6]) }, { layout: wrong, values: Float32Array.from([7, 8, 9]) }])).toThrow(
      'mergeTensors: tensor "output/kernel" has shape [1, 2]; the model wants [2, 1]',
    );
    expect(() => mergeTensors(layout, [{ layout: shared, values: Float32Array.from([1, 2, 3, 4, 5, 6]) }])).toThrow('mergeTensors: no values for tensor "output/kernel"');
  });
});
