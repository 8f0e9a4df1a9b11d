'use client';

import { useId } from 'react';
import type { StrategyCatalog } from '@chorus/core';
import { chosenMethod, layersField, methodField, personalizationErrorInWords, personalizationFields, type PersonalizationFormState } from './personalization-form-model.js';
import { SchemaField } from './strategy-options-fields.js';

interface Props {
  readonly catalog: StrategyCatalog | null;
  readonly value: PersonalizationFormState;
  readonly onChange: (next: PersonalizationFormState) => void;
  /** The server's last refusal; shown here in plain words when it is about these options. */
  readonly error: string | null;
}

/** Personal models on each device: the method and the options it reads, drawn from the schema. */
export function PersonalizationFields({ catalog, value, onChange, error }: Props) {
  const layersHint = useId();
  const method = chosenMethod(catalog, value);
  const methodInput = methodField(catalog);
  const layers = layersField(catalog, method);
  const fieldError = personalizationErrorInWords(error, catalog);
  const setValue = (key: string, text: string) => onChange({ ...value, values: { ...value.values, [key]: text } });
  return (
    <fieldset data-testid="personalization-options">
      <legend>Personalization (a personal model on each device)</legend>
      <label className="inline">
        <input type="checkbox" name="personalizationOn" checked={value.on} onChange={(e) => onChange({ ...value, on: e.target.checked })} /> Each participant also keeps a model of its own, never
        sent
      </label>
      {value.on && methodInput && <SchemaField field={methodInput} name="personalization-method" typed={value.values.method} onChange={(t) => setValue('method', t)} />}
      {value.on && layers && (
        <label>
          {layers.label}
          <input name="personalization-personalLayers" value={value.layers} placeholder="the output head" aria-describedby={layers.description ? layersHint : undefined} onChange={(e) => onChange({ ...value, layers: e.target.value })} />
          {layers.description && (
            <small id={layersHint} className="muted">
              {layers.description} Separate names with commas.
            </small>
          )}
        </label>
      )}
      {value.on &&
        personalizationFields(catalog, method).map((f) => <SchemaField key={f.key} field={f} name={`personalization-${f.key}`} typed={value.values[f.key]} onChange={(t) => setValue(f.key, t)} />)}
      {fieldError && (
        <p className="error wide" role="alert" data-testid="personalization-error">
          {fieldError}
        </p>
      )}
    </fieldset>
  );
}
