'use client';

import { useDeferredValue, useId, useMemo, type ReactNode } from 'react';
import { planPrivacy, type StrategyCatalog } from '@chorus/core';
import './privacy.css';
import { aggregatorFields, fieldText, sampleRateOf, strategyErrorInWords, strategyFields, type OptionField, type StrategyFormState } from './strategy-form-model.js';

type Text = { [K in keyof StrategyFormState]: StrategyFormState[K] extends string ? K : never }[keyof StrategyFormState];

interface Props {
  /** GET /api/strategies: the strategies' and aggregators' option schemas (null while loading). */
  readonly catalog: StrategyCatalog | null;
  readonly strategy: string;
  readonly value: StrategyFormState;
  readonly onChange: (next: StrategyFormState) => void;
  /** The form's "clients per round": the numerator of the DP sampling rate. */
  readonly clientsPerRound: number;
  /** The form's round limit (0 = until stopped), for the ε preview. */
  readonly maxRounds: number;
  /** The server's last refusal; shown here in plain words when it is about these options. */
  readonly error: string | null;
}

const fmt = (x: number): string => (x === Infinity ? '∞' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(3));

/** Why the server would refuse adaptive clipping (Andrew et al. 2021 needs 2·σ_b > z, σ_b = expected/20). */
function adaptiveHint(v: StrategyFormState): string | null {
  const expected = Number(v.dpExpected);
  const z = Number(v.dpNoise);
  if (v.dpExpected.trim() === '' || !(expected >= 1)) return 'Adaptive clipping needs the expected clients per round (its count noise is scaled by it).';
  if (z > 0 && !(expected / 10 > z)) return `With ${expected} expected clients the clip-count noise is too small for noise multiplier ${z}: expect more than ${Math.floor(10 * z)} clients per round, or lower the noise.`;
  return null;
}

/** One input drawn from an option's JSON Schema: its title, bounds, default, and its description as the hint. */
export function SchemaField({ field, name, typed, onChange }: { field: OptionField; name: string; typed: string | undefined; onChange: (text: string) => void }) {
  const hintId = useId();
  const text = fieldText(field, typed);
  const described = field.description ? hintId : undefined;
  const hint = field.description && (
    <small id={hintId} className="muted">
      {field.description}
    </small>
  );
  if (field.kind === 'boolean') {
    return (
      <label className="inline">
        <input type="checkbox" name={name} checked={text === 'true'} aria-describedby={described} onChange={(e) => onChange(String(e.target.checked))} /> {field.label}
        {hint}
      </label>
    );
  }
  if (field.kind === 'enum') {
    return (
      <label>
        {field.label}
        <select name={name} value={text} aria-describedby={described} onChange={(e) => onChange(e.target.value)}>
          {field.choices!.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        {hint}
      </label>
    );
  }
  const numeric = field.kind === 'number' || field.kind === 'integer';
  return (
    <label>
      {field.label}
      <input
        type={numeric ? 'number' : 'text'}
        name={name}
        step={field.kind === 'integer' ? 1 : numeric ? 'any' : undefined}
        min={field.minimum}
        max={field.maximum}
        value={text}
        aria-describedby={described}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint}
    </label>
  );
}

/** The strategy's own options, robust aggregation, norm bound, central DP with a live ε preview, and local DP. */
export function StrategyOptionsFields({ catalog, strategy, value, onChange, clientsPerRound, maxRounds, error }: Props) {
  const set = <K extends keyof StrategyFormState>(key: K, v: StrategyFormState[K]) => onChange({ ...value, [key]: v });
  const text = (key: Text, label: string, opts: { step?: number; placeholder?: string; testId?: string } = {}) => (
    <label>
      {label}
      <input type="number" name={key} step={opts.step ?? 'any'} min={0} value={value[key]} placeholder={opts.placeholder} onChange={(e) => set(key, e.target.value)} data-testid={opts.testId} />
    </label>
  );
  const fieldError = strategyErrorInWords(error, catalog);
  const own = strategyFields(catalog, strategy);

  return (
    <>
      {own.length > 0 && (
        <fieldset data-testid="server-options">
          <legend>{strategy} options</legend>
          {own.map((f) => (
            <SchemaField key={f.key} field={f} name={`server-${f.key}`} typed={value.server[f.key]} onChange={(t) => onChange({ ...value, server: { ...value.server, [f.key]: t } })} />
          ))}
        </fieldset>
      )}
      <fieldset data-testid="robust-options">
        <legend>Robust aggregation (against faulty or malicious updates)</legend>
        <label>
          Combine updates by
          <select name="aggregator" value={value.aggregator} onChange={(e) => set('aggregator', e.target.value)}>
            {(catalog?.aggregators ?? [{ id: value.aggregator, description: value.aggregator }]).map((a) => (
              <option key={a.id} value={a.id} title={a.description}>
                {a.id} — {a.description}
              </option>
            ))}
          </select>
        </label>
        {aggregatorFields(catalog, value.aggregator).map((f) => (
          <SchemaField key={f.key} field={f} name={f.key} typed={value.aggregatorOptions[f.key]} onChange={(t) => onChange({ ...value, aggregatorOptions: { ...value.aggregatorOptions, [f.key]: t } })} />
        ))}
        {text('normBound', 'Norm bound (scale larger updates down to this L2 norm)', { placeholder: 'none' })}
      </fieldset>
      <DpFields value={value} set={set} text={text} clientsPerRound={clientsPerRound} maxRounds={maxRounds} />
      <fieldset data-testid="local-dp-options">
        <legend>Local differential privacy (for deployments that do not trust the server)</legend>
        <label className="inline">
          <input type="checkbox" name="localDpOn" checked={value.localDpOn} onChange={(e) => set('localDpOn', e.target.checked)} /> Each participant clips and noises its own update before sending it
        </label>
        {value.localDpOn && text('localClipNorm', 'Clip norm C')}
        {value.localDpOn && text('localNoise', 'Noise multiplier σ (noise std σ·C on every value)')}
      </fieldset>
      {fieldError && (
        <p className="error wide" role="alert" data-testid="strategy-error">
          {fieldError}
        </p>
      )}
    </>
  );
}

function DpFields({
  value,
  set,
  text,
  clientsPerRound,
  maxRounds,
}: {
  value: StrategyFormState;
  set: <K extends keyof StrategyFormState>(key: K, v: StrategyFormState[K]) => void;
  text: (key: Text, label: string, opts?: { step?: number; placeholder?: string; testId?: string }) => ReactNode;
  clientsPerRound: number;
  maxRounds: number;
}) {
  // Accounting takes a few milliseconds per keystroke: let React keep typing responsive.
  const deferred = useDeferredValue(value);
  const rounds = maxRounds > 0 ? maxRounds : 100;
  const preview = useMemo(() => {
    if (!deferred.dpOn) return null;
    const q = sampleRateOf(clientsPerRound, deferred.dpPopulation);
    const sigma = Number(deferred.dpNoise);
    const delta = Number(deferred.dpDelta);
    const budget = deferred.dpBudget.trim() === '' ? undefined : Number(deferred.dpBudget);
    if (q === undefined) return { problem: 'Enter the population the clients are drawn from to see the privacy cost.' };
    if (!(sigma >= 0) || !(delta > 0 && delta < 1) || (budget !== undefined && !(budget > 0))) return { problem: 'Noise multiplier ≥ 0, 0 < δ < 1 and a positive ε budget are needed for the preview.' };
    try {
      return { q, ...planPrivacy({ noiseMultiplier: sigma, sampleRate: q, delta, rounds, ...(budget !== undefined ? { epsilonBudget: budget } : {}), maxRounds: 100_000 }) };
    } catch (err) {
      return { problem: (err as Error).message };
    }
  }, [deferred, clientsPerRound, rounds]);

  return (
    <fieldset data-testid="dp-options">
      <legend>Differential privacy (server adds noise; DP-FedAvg)</legend>
      <label className="inline">
        <input type="checkbox" name="dpOn" checked={value.dpOn} onChange={(e) => set('dpOn', e.target.checked)} /> Clip every update and add Gaussian noise to the average
      </label>
      {value.dpOn && (
        <>
          {text('dpClipNorm', 'Clip norm C')}
          {text('dpNoise', 'Noise multiplier z (noise std z·C on the sum)', { testId: 'dp-noise' })}
          {text('dpExpected', 'Expected clients per round (fixed denominator)', { step: 1, placeholder: 'updates received' })}
          {text('dpPopulation', 'Population the clients are drawn from', { step: 1, testId: 'dp-population' })}
          {text('dpDelta', 'Target δ')}
          {text('dpBudget', 'ε budget (the task completes before overspending it)', { placeholder: 'none', testId: 'dp-budget' })}
          <label className="inline">
            <input type="checkbox" name="dpAdaptive" checked={value.dpAdaptive} onChange={(e) => set('dpAdaptive', e.target.checked)} /> Adaptive clipping (C follows the median update norm; needs expected clients)
          </label>
          {value.dpAdaptive && adaptiveHint(value) && <p className="notice wide">{adaptiveHint(value)}</p>}
          {value.aggregator !== 'mean' && <p className="notice wide">Differential privacy needs the mean aggregator: its noise is calibrated to the mean.</p>}
          <div className="privacy-preview wide" data-testid="dp-preview" aria-live="polite">
            {preview && 'problem' in preview && <p className="muted">{preview.problem}</p>}
            {preview && 'epsilon' in preview && (
              <>
                <p>
                  Sampling rate {fmt(preview.q)} ({clientsPerRound} per round of {value.dpPopulation}). After {rounds} rounds
                  {maxRounds > 0 ? '' : ' (no round limit set; showing 100)'}: <strong data-testid="dp-epsilon">ε = {fmt(preview.epsilon)}</strong>, δ = {value.dpDelta}.
                </p>
                {preview.roundsAllowed !== undefined && (
                  <p data-testid="dp-rounds-allowed">
                    {preview.roundsAllowed === 0
                      ? 'The ε budget does not allow even one round: add noise, sample fewer clients or raise the budget.'
                      : `The ε budget allows ${preview.roundsCapped ? 'more than ' : ''}${preview.roundsAllowed} rounds; the task completes before the round that would overspend it.`}
                    {maxRounds > 0 && preview.roundsAllowed > 0 && preview.roundsAllowed < maxRounds ? ` That is fewer than the ${maxRounds} rounds asked for.` : ''}
                  </p>
                )}
              </>
            )}
          </div>
        </>
      )}
    </fieldset>
  );
}
