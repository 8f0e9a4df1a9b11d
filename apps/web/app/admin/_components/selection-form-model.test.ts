import { describe, expect, it } from 'vitest';
import { DEFAULT_SELECTION_FORM, selectionFromForm } from './selection-form-model.js';

describe('the create-task form’s client selection', () => {
  it('sends nothing for uniform, and Oort with only the options moved off their defaults', () => {
    expect(selectionFromForm(DEFAULT_SELECTION_FORM)).toEqual({});
    expect(selectionFromForm({ ...DEFAULT_SELECTION_FORM, fairness: 0.5 })).toEqual({});
    expect(selectionFromForm({ policy: 'oort', fairness: 0, diversity: 0 })).toEqual({ selection: { id: 'oort', options: {} } });
    expect(selectionFromForm({ policy: 'oort', fairness: 0.2, diversity: 0.5 })).toEqual({ selection: { id: 'oort', options: { fairness: 0.2, diversity: 0.5 } } });
  });
});
