import { describe, expect, it } from 'vitest';
import { taskConfigSchema } from '@chorus/core';
import { personalize } from './task-service.js';

const layout = [
  { name: 'dense1/kernel', shape: [2, 2] },
  { name: 'dense1/bias', shape: [2] },
  { name: 'output/kernel', shape: [2, 1] },
  { name: 'output/bias', shape: [1] },
];
const model = { topology: {}, layout, weights: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) };
const config = (extra: Record<string, unknown>) =>
  taskConfigSchema.parse({ id: 't', name: 't', data: { kind: 'image', inputShape: [2], numClasses: 2 }, strategy: { id: 'fedavg' }, ...extra });

describe('personalize (task creation)', () => {
  it('keeps only the shared layers on the server and resolves the head by default', () => {
    // Execute
    const out = personalize(config({ personalization: { method: 'fedper' } }), model);
    // Assert
    expect(out.model.layout.map((t) => t.name)).toEqual(['dense1/kernel', 'dense1/bias']);
    expect([...out.model.weights]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(out.config.personalization).toEqual({ method: 'fedper', personalLayers: ['output'], headEpochs: 1, lambda: 1, chooseByValidation: true, holdoutFraction: 0.2 });
  });

  it('ditto: the server keeps the whole model, and the device a whole copy (no personal layers)', () => {
    const out = personalize(config({ personalization: { method: 'ditto', lambda: 0.5 } }), model);
    expect(out.model).toEqual(model);
    expect(out.config.personalization).toEqual({ method: 'ditto', personalLayers: [], headEpochs: 1, lambda: 0.5, chooseByValidation: true, holdoutFraction: 0.2 });
  });

  it('ditto: refuses personal layers, which it does not use', () => {
    expect(() => personalize(config({ personalization: { method: 'ditto', personalLayers: ['output'] } }), model)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('config.personalization.personalLayers: ditto keeps a whole personal copy') }),
    );
  });

  it('ditto: refuses λ out of range', () => {
    const r = taskConfigSchema.safeParse({ id: 't', name: 't', data: { kind: 'image', inputShape: [2], numClasses: 2 }, personalization: { method: 'ditto', lambda: -1 } });
    expect(r.error?.issues[0]).toMatchObject({ path: ['personalization', 'lambda'], message: 'must be in [0, 100]' });
  });

  it('leaves a task without personalization as built', () => {
    const c = config({});
    expect(personalize(c, model)).toEqual({ config: c, model });
  });

  it('names an unknown layer in INVALID_CONFIG', () => {
    expect(() => personalize(config({ personalization: { personalLayers: ['head'] } }), model)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: 'config.personalization.personalLayers: no layer named "head" (the model\'s layers: dense1, output)' }),
    );
  });

  it('refuses options out of range with plain words', () => {
    const r = taskConfigSchema.safeParse({ id: 't', name: 't', data: { kind: 'image', inputShape: [2], numClasses: 2 }, personalization: { holdoutFraction: 0.9 } });
    expect(r.error?.issues[0]).toMatchObject({ path: ['personalization', 'holdoutFraction'], message: 'must be in [0.05, 0.5]' });
  });
});
