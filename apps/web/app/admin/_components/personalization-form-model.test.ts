import { describe, expect, it } from 'vitest';
import { strategyCatalog, taskConfigSchema, type StrategyCatalog } from '@chorus/core';
import { chosenMethod, DEFAULT_PERSONALIZATION_FORM, layersField, methodField, personalizationErrorInWords, personalizationFields, personalizationFromForm } from './personalization-form-model.js';

/** What the console gets: the catalog after a trip through JSON, as over HTTP. */
const catalog = (): StrategyCatalog => JSON.parse(JSON.stringify(strategyCatalog())) as StrategyCatalog;
const base = { id: 't', name: 't', data: { kind: 'image', inputShape: [784], numClasses: 10 } };

describe('personalization form model', () => {
  it('offers the methods from the schema, with its default', () => {
    expect(methodField(catalog())).toMatchObject({ key: 'method', kind: 'enum', defaultValue: 'fedper', choices: ['fedper', 'fedrep', 'ditto'] });
    expect(chosenMethod(catalog(), DEFAULT_PERSONALIZATION_FORM)).toBe('fedper');
    // The default loses on IID data: the method's hint says so, and what does not lose
    expect(methodField(catalog())?.description).toContain("FedPer and FedRep lose accuracy when devices' data look alike");
    expect(methodField(catalog())?.description).toContain('Ditto with chooseByValidation does not');
  });

  it('draws nothing, and does not fail, while the catalog is still loading', () => {
    expect(methodField(null)).toBeUndefined();
    expect(chosenMethod(null, { on: true, values: {}, layers: '' })).toBe('');
    expect(personalizationFields(null, '')).toEqual([]);
    expect(layersField(null, '')).toBeUndefined();
  });

  it('shows each method the options it reads: layers for fedper and fedrep, the schedule for fedrep, λ for ditto', () => {
    const c = catalog();
    const keys = (method: string) => personalizationFields(c, method).map((f) => f.key);
    expect(keys('fedper')).toEqual(['holdoutFraction']);
    expect(keys('fedrep')).toEqual(['headEpochs', 'holdoutFraction']);
    expect(keys('ditto')).toEqual(['lambda', 'chooseByValidation', 'holdoutFraction']);
    expect(personalizationFields(c, 'ditto')[0]).toMatchObject({ label: 'Ditto λ', kind: 'number', defaultValue: 1, minimum: 0, maximum: 100 });
    expect(personalizationFields(c, 'fedrep')[0]).toMatchObject({ label: 'Personal-layer epochs (FedRep)', kind: 'integer', defaultValue: 1, minimum: 1, maximum: 100 });
    expect(layersField(c, 'fedper')?.label).toBe('Personal layers');
    expect(layersField(c, 'fedrep')?.label).toBe('Personal layers');
    expect(layersField(c, 'ditto')).toBeUndefined();
  });

  it('turns the form into a personalization the task schema accepts', () => {
    const c = catalog();
    expect(personalizationFromForm(c, DEFAULT_PERSONALIZATION_FORM)).toEqual({});
    const fedrep = personalizationFromForm(c, { on: true, values: { method: 'fedrep', headEpochs: '3' }, layers: ' dense2, output ' });
    expect(fedrep).toEqual({ personalization: { method: 'fedrep', headEpochs: 3, holdoutFraction: 0.2, personalLayers: ['dense2', 'output'] } });
    // Ditto: λ as typed, and no layer list even if one was typed before switching method
    const ditto = personalizationFromForm(c, { on: true, values: { method: 'ditto', lambda: '0.5' }, layers: 'output' });
    expect(ditto).toEqual({ personalization: { method: 'ditto', lambda: 0.5, chooseByValidation: true, holdoutFraction: 0.2 } });
    for (const p of [fedrep, ditto]) expect(taskConfigSchema.safeParse({ ...base, ...p }).success).toBe(true);
    // Blank = the server's default (the output head; the schema's λ)
    expect(personalizationFromForm(c, { on: true, values: { method: 'ditto', lambda: ' ' }, layers: '' })).toEqual({ personalization: { method: 'ditto', chooseByValidation: true, holdoutFraction: 0.2 } });
  });

  it("reads the server's refusal of an option in plain words, and leaves other errors alone", () => {
    const c = catalog();
    const bad = taskConfigSchema.safeParse({ ...base, ...personalizationFromForm(c, { on: true, values: { method: 'ditto', lambda: '500' }, layers: '' }) });
    expect(bad.success).toBe(false);
    expect(personalizationErrorInWords('config.personalization.lambda: must be in [0, 100]', c)).toBe('Ditto λ must be in [0, 100]');
    expect(personalizationErrorInWords('config.personalization.personalLayers: no layer named "head" (the model\'s layers: dense1, output)', c)).toBe(
      'Personal layers: no layer named "head" (the model\'s layers: dense1, output)',
    );
    expect(personalizationErrorInWords('config.strategy.options.eta: must be > 0', c)).toBeNull();
  });
});
