import type { ParticipantState } from '@chorus/client';
import { formatBytes, formatPercent, formatRate } from '../../lib/format.js';

/** The held-out accuracy the server reports with each new global model. */
export function heldOutAccuracy(metrics: Readonly<Record<string, number>> | undefined): number | undefined {
  if (!metrics) return undefined;
  for (const key of ['accuracy', 'centralAccuracy', 'central_accuracy', 'eval_accuracy', 'testAccuracy']) {
    if (typeof metrics[key] === 'number') return metrics[key];
  }
  return undefined;
}

function Stat({ label, value, note, testId }: { label: string; value: string; note?: string; testId: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId}>{value}</div>
      {note && <div className="stat-note">{note}</div>}
    </div>
  );
}

export function StatsPanel({ state }: { readonly state: ParticipantState }) {
  const accuracy = heldOutAccuracy(state.globalModel?.metrics);
  const backend = state.backend;
  const backendNote = backend ? (backend.forced ? 'chosen by you' : backend.fromCache ? 'fastest here (measured earlier)' : 'fastest here (just measured)') : 'measured when training starts';
  return (
    <section className="card" aria-labelledby="stats-title">
      <h2 id="stats-title">Your contribution</h2>
      <div className="stats">
        <Stat testId="stat-accuracy" label="Shared model accuracy" value={formatPercent(accuracy)} note={state.globalModel ? `on held-out digits, version ${state.globalModel.version}` : 'after the first round'} />
        {state.task?.mode === 'async' ? (
          // FedBuff: no rounds to wait for; the device trains again as soon as its update has landed.
          <Stat testId="stat-rounds" label="Contributing continuously" value={`${state.contributions.updatesAccepted} updates`} note="trains again on the newest model as soon as each update lands" />
        ) : (
          <Stat testId="stat-rounds" label="Rounds joined" value={String(state.contributions.roundsJoined)} note={`${state.contributions.updatesAccepted} updates accepted`} />
        )}
        <Stat testId="stat-bytes" label="Sent from this device" value={formatBytes(state.contributions.bytesSent)} note={state.task ? `model updates only, encoded as ${state.task.codec}` : 'model updates only'} />
        <Stat testId="stat-backend" label="Training on" value={backend?.backend ?? '—'} note={backendNote} />
        {backend?.backend === 'wasm' && (
          <Stat testId="stat-wasm-threads" label="WebAssembly threads" value={String(backend.wasmThreads)} note={backend.wasmVariantReason} />
        )}
        <Stat testId="stat-speed" label="Speed" value={formatRate(state.samplesPerSecond)} />
        <Stat testId="stat-examples" label="Examples on this device" value={String(state.examples.total)} note={`${state.examples.bySource.shard} demo · ${state.examples.bySource.drawn} drawn · ${state.examples.bySource.imported} imported${state.examples.bySource.typed > 0 ? ` · ${state.examples.bySource.typed} typed` : ''}`} />
      </div>
    </section>
  );
}
