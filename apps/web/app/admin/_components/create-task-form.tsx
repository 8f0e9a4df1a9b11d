'use client';

import { useEffect, useState, type FormEvent } from 'react';
import type { StrategyCatalog, TrainingConfig } from '@chorus/core';
import { useAdmin } from './admin-context.js';
import { createTaskRequest, DEFAULT_MODEL_SOURCE, ModelSourceFields } from './model-source-fields.js';
import { PersonalizationFields } from './personalization-fields.js';
import { DEFAULT_PERSONALIZATION_FORM, personalizationFromForm } from './personalization-form-model.js';
import { DEFAULT_SELECTION_FORM, SELECTION_POLICIES, selectionFromForm, type SelectionForm } from './selection-form-model.js';
import { DEFAULT_STRATEGY_FORM, privacyFromForm, strategyOptionsFromForm } from './strategy-form-model.js';
import { StrategyOptionsFields } from './strategy-options-fields.js';
import { templateTrainingFields } from './template-training.js';

interface Option {
  readonly id: string;
  readonly description: string;
}

interface TemplateOption extends Option {
  /** Training options the template needs; the server applies them too (and maxExamples, which the form has no field for). */
  readonly training?: Partial<TrainingConfig>;
}

const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'];

const DEFAULTS = {
  id: '',
  name: '',
  template: 'mnist-2nn',
  strategy: 'fedavg',
  maxRounds: 0,
  targetClients: 10,
  minClients: 2,
  deadlineSeconds: 60,
  intervalSeconds: 5,
  ...templateTrainingFields(undefined),
  codec: 'int8',
  minExamples: 1,
  backends: [] as string[],
  start: true,
};

/** New task from a model template, with the round, training, codec and eligibility options. */
export function CreateTaskForm({ onCreated }: { onCreated: (id: string) => void }) {
  const { api } = useAdmin();
  const [templates, setTemplates] = useState<TemplateOption[]>([]);
  const [catalog, setCatalog] = useState<StrategyCatalog | null>(null);
  const [form, setForm] = useState(DEFAULTS);
  const [strategyForm, setStrategyForm] = useState(DEFAULT_STRATEGY_FORM);
  const [personalForm, setPersonalForm] = useState(DEFAULT_PERSONALIZATION_FORM);
  const [selectionForm, setSelectionForm] = useState<SelectionForm>(DEFAULT_SELECTION_FORM);
  const [modelSource, setModelSource] = useState(DEFAULT_MODEL_SOURCE);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ templates: TemplateOption[] }>('/api/admin/templates').then((r) => setTemplates(r.templates), (e: Error) => setError(e.message));
    api<StrategyCatalog>('/api/strategies').then(setCatalog, (e: Error) => setError(e.message));
  }, [api]);

  const set = <K extends keyof typeof DEFAULTS>(key: K, value: (typeof DEFAULTS)[K]) => setForm((f) => ({ ...f, [key]: value }));
  const num = (key: 'maxRounds' | 'targetClients' | 'minClients' | 'deadlineSeconds' | 'intervalSeconds' | 'localEpochs' | 'batchSize' | 'learningRate' | 'minExamples', label: string, step = 1) => (
    <label>
      {label}
      <input name={key} type="number" step={step} min={0} value={form[key]} onChange={(e) => set(key, Number(e.target.value))} required />
    </label>
  );

  // A template that needs other training options (nextword-gru's learning rate) brings them along.
  const pickTemplate = (id: string) => setForm((f) => ({ ...f, template: id, ...templateTrainingFields(templates.find((t) => t.id === id)?.training) }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { path, body } = createTaskRequest(
        form.template,
        modelSource,
        {
          id: form.id,
          name: form.name,
          codec: form.codec,
          strategy: { id: form.strategy, options: strategyOptionsFromForm(catalog, form.strategy, strategyForm, form.targetClients) },
          ...privacyFromForm(strategyForm),
          ...personalizationFromForm(catalog, personalForm),
          ...selectionFromForm(selectionForm),
          training: { localEpochs: form.localEpochs, batchSize: form.batchSize, learningRate: form.learningRate },
          rounds: {
            targetClients: form.targetClients,
            minClients: form.minClients,
            minAvailable: form.minClients,
            overSelection: 1.3,
            deadlineMs: Math.round(form.deadlineSeconds * 1000),
            roundIntervalMs: Math.round(form.intervalSeconds * 1000),
            maxRounds: form.maxRounds,
            minExamples: form.minExamples,
            backends: form.backends,
          },
        },
        form.start,
      );
      await api(path, { method: 'POST', body });
      onCreated(form.id);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form grid-form" onSubmit={submit} data-testid="create-task-form">
      <h2>New task</h2>
      <label>
        Task id (lowercase letters, digits, dashes)
        <input name="id" value={form.id} pattern="[a-z0-9][a-z0-9-]{0,63}" onChange={(e) => set('id', e.target.value)} required />
      </label>
      <label>
        Name shown to participants
        <input name="name" value={form.name} onChange={(e) => set('name', e.target.value)} required />
      </label>
      <ModelSourceFields template={form.template} value={modelSource} onChange={setModelSource} />
      <label hidden={modelSource.mode === 'upload'}>
        Model template
        <select name="template" value={form.template} onChange={(e) => pickTemplate(e.target.value)}>
          {templates.map((t) => (
            <option key={t.id} value={t.id} title={t.description}>
              {t.id} — {t.description}
            </option>
          ))}
        </select>
      </label>
      <label>
        Aggregation strategy
        <select name="strategy" value={form.strategy} onChange={(e) => set('strategy', e.target.value)}>
          {(catalog?.strategies ?? []).map((s) => (
            <option key={s.id} value={s.id}>
              {s.id} — {s.description}
            </option>
          ))}
        </select>
      </label>
      <StrategyOptionsFields catalog={catalog} strategy={form.strategy} value={strategyForm} onChange={setStrategyForm} clientsPerRound={form.targetClients} maxRounds={form.maxRounds} error={error} />
      <PersonalizationFields catalog={catalog} value={personalForm} onChange={setPersonalForm} error={error} />
      {num('maxRounds', 'Rounds (0 = until stopped)')}
      {num('targetClients', 'Clients per round')}
      {num('minClients', 'Quorum (fewest updates that count)')}
      {num('deadlineSeconds', 'Round deadline (seconds)')}
      {num('intervalSeconds', 'Pause between rounds (seconds)')}
      {num('localEpochs', 'Local epochs')}
      {num('batchSize', 'Batch size')}
      {num('learningRate', 'Learning rate', 0.001)}
      {num('minExamples', 'Eligibility: at least this many local examples')}
      <fieldset>
        <legend>Client selection</legend>
        <label>
          Policy
          <select name="selection" value={selectionForm.policy} onChange={(e) => setSelectionForm((f) => ({ ...f, policy: e.target.value as SelectionForm['policy'] }))}>
            {SELECTION_POLICIES.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </label>
        {selectionForm.policy === 'oort' && (
          <>
            <label>
              Fairness (0 = by utility, 1 = whoever was invited least)
              <input name="selectionFairness" type="number" min={0} max={1} step={0.05} value={selectionForm.fairness} onChange={(e) => setSelectionForm((f) => ({ ...f, fairness: Number(e.target.value) }))} required />
            </label>
            <label>
              Label coverage (0 = off; keeps each participant&apos;s output-layer change, not with secure aggregation)
              <input name="selectionDiversity" type="number" min={0} max={1} step={0.05} value={selectionForm.diversity} onChange={(e) => setSelectionForm((f) => ({ ...f, diversity: Number(e.target.value) }))} required />
            </label>
          </>
        )}
      </fieldset>
      <label>
        Update codec
        <select name="codec" value={form.codec} onChange={(e) => set('codec', e.target.value)}>
          {(catalog?.codecs ?? [{ id: form.codec, description: '' }]).map((c) => (
            <option key={c.id} value={c.id}>
              {c.id}
              {c.description ? ` (${c.description})` : ''}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Eligibility: training backends (none ticked = any)</legend>
        {BACKENDS.map((b) => (
          <label key={b} className="inline">
            <input type="checkbox" checked={form.backends.includes(b)} onChange={(e) => set('backends', e.target.checked ? [...form.backends, b] : form.backends.filter((x) => x !== b))} /> {b}
          </label>
        ))}
      </fieldset>
      <label className="inline">
        <input name="start" type="checkbox" checked={form.start} onChange={(e) => set('start', e.target.checked)} /> Start right away
      </label>
      {error && (
        <p className="error wide" role="alert" data-testid="create-error">
          {error}
        </p>
      )}
      <div className="wide">
        <button className="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create task'}
        </button>
      </div>
    </form>
  );
}
