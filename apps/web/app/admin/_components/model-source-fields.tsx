'use client';

import { useState } from 'react';
import type { DataSchema } from '@chorus/core';
import { parseCsv, tabularSchemaFromCsv } from '@chorus/ml/data';
import { base64Of, type ModelSource } from './model-source.js';

export { createTaskRequest, DEFAULT_MODEL_SOURCE, type ModelSource } from './model-source.js';

/** The model part of the create form: template CSV, or two file inputs plus the data-schema fields. */
export function ModelSourceFields({ template, value, onChange }: { template: string; value: ModelSource; onChange: (update: (prev: ModelSource) => ModelSource) => void }) {
  const [csv, setCsv] = useState<{ text: string; columns: string[]; labelColumn: string } | null>(null);
  const [note, setNote] = useState('');

  const describe = (d: DataSchema) => `${d.inputShape[0]} features (${d.features?.names.join(', ')}), ${d.numClasses} classes: ${d.labels?.join(', ')}`;

  const readCsv = (text: string, labelColumn: string) => {
    try {
      const data = tabularSchemaFromCsv(text, { labelColumn });
      onChange((v) => ({ ...v, csvData: data }));
      setNote(describe(data));
    } catch (err) {
      onChange((v) => ({ ...v, csvData: undefined }));
      setNote((err as Error).message);
    }
  };

  const pickCsv = async (file: File | undefined) => {
    if (!file) return;
    const text = await file.text();
    const columns = parseCsv(text.slice(0, text.indexOf('\n') + 1 || undefined))[0] ?? [];
    const labelColumn = columns.at(-1) ?? '';
    setCsv({ text, columns, labelColumn });
    readCsv(text, labelColumn);
  };

  const pickModel = async (file: File | undefined) => {
    if (!file) return;
    try {
      const modelJson = JSON.parse(await file.text()) as Record<string, unknown>;
      onChange((v) => ({ ...v, modelJson }));
    } catch {
      setNote(`${file.name} is not JSON: choose the model.json that tfjs's model.save wrote.`);
    }
  };

  const pickWeights = async (file: File | undefined) => {
    if (!file) return;
    const weights = await base64Of(file);
    onChange((v) => ({ ...v, weights }));
  };

  return (
    <fieldset className="wide" data-testid="model-source">
      <legend>Model</legend>
      <label className="inline">
        <input type="radio" name="model-source" checked={value.mode === 'template'} onChange={() => onChange((v) => ({ ...v, mode: 'template' }))} /> From a template
      </label>
      <label className="inline">
        <input type="radio" name="model-source" checked={value.mode === 'upload'} onChange={() => onChange((v) => ({ ...v, mode: 'upload' }))} data-testid="source-upload" /> Upload a model
      </label>
      {value.mode === 'template' && template === 'tabular-mlp' && (
        <div data-testid="tabular-csv">
          <label>
            CSV table (header row; numeric feature columns and one label column)
            <input type="file" accept=".csv,text/csv" onChange={(e) => void pickCsv(e.target.files?.[0])} data-testid="csv-file" />
          </label>
          {csv && (
            <label>
              Label column
              <select value={csv.labelColumn} onChange={(e) => (setCsv({ ...csv, labelColumn: e.target.value }), readCsv(csv.text, e.target.value))}>
                {csv.columns.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </label>
          )}
        </div>
      )}
      {value.mode === 'upload' && (
        <div data-testid="model-upload">
          <p className="muted small">A TensorFlow.js Layers model (model.save) with a softmax output; its weights are version 0.</p>
          <label>
            model.json
            <input type="file" accept=".json,application/json" onChange={(e) => void pickModel(e.target.files?.[0])} data-testid="model-json-file" />
          </label>
          <label>
            weights.bin
            <input type="file" accept=".bin,application/octet-stream" onChange={(e) => void pickWeights(e.target.files?.[0])} data-testid="weights-file" />
          </label>
          <label>
            Data kind
            <select value={value.kind} onChange={(e) => onChange((v) => ({ ...v, kind: e.target.value as DataSchema['kind'] }))}>
              <option value="image">image</option>
              <option value="tabular">tabular</option>
              <option value="text">text</option>
            </select>
          </label>
          <label>
            Input shape (blank = the model’s)
            <input name="inputShape" value={value.inputShape} placeholder="28, 28, 1" onChange={(e) => onChange((v) => ({ ...v, inputShape: e.target.value }))} />
          </label>
          <label>
            Number of classes
            <input name="numClasses" type="number" min={2} value={value.numClasses} onChange={(e) => onChange((v) => ({ ...v, numClasses: Number(e.target.value) }))} required />
          </label>
          <label>
            Class labels (comma-separated, optional)
            <input name="labels" value={value.labels} onChange={(e) => onChange((v) => ({ ...v, labels: e.target.value }))} />
          </label>
        </div>
      )}
      {note && <p className="muted small" aria-live="polite" data-testid="model-source-note">{note}</p>}
    </fieldset>
  );
}
