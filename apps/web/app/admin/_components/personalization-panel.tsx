'use client';

import { useMemo } from 'react';
import { MetricChart } from './metric-chart.js';
import { personalizationPanelText } from './personalization-panel-model.js';
import type { RoundRow, TaskSummary } from './types.js';

const pp = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${x >= 0 ? '+' : ''}${x.toFixed(1)} pts`);
const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)}%`);

/**
 * A personalized task: how much participants' own models beat the shared one on their held-out
 * examples, as the server aggregates it per round (deciles and the share who gained; never one
 * participant's figure), with the mean accuracies side by side.
 */
export function PersonalizationPanel({ task, rounds }: { task: TaskSummary; rounds: readonly RoundRow[] }) {
  const p = task.config.personalization;
  const series = useMemo(() => {
    const done = rounds.filter((r) => r.state === 'committed' && typeof r.metrics.client_holdoutPersonalAccuracy === 'number').sort((a, b) => a.round - b.round);
    const withGains = done.filter((r) => typeof r.metrics.personalGainMedian === 'number');
    return { rounds: withGains.map((r) => r.round), median: withGains.map((r) => r.metrics.personalGainMedian!), last: done.at(-1)?.metrics, lastGains: withGains.at(-1)?.metrics };
  }, [rounds]);
  if (!p) return null;
  const m = series.last;
  const g = series.lastGains;
  const text = personalizationPanelText(p, task);
  return (
    <section className="card" data-testid="personalization-panel">
      <h2>Personalization</h2>
      <p className="muted small" data-testid="personalization-summary">
        {text.summary}
      </p>
      <div className="stats">
        <div className="stat">
          <span className="stat-label" data-testid="personal-shared-label">{text.sharedLabel}</span>
          <span className="stat-value" data-testid="personal-shared-mean">{pct(m?.client_holdoutSharedAccuracy)}</span>
        </div>
        <div className="stat">
          <span className="stat-label">{text.ownLabel}</span>
          <span className="stat-value" data-testid="personal-own-mean">{pct(m?.client_holdoutPersonalAccuracy)}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Gain: 10th / median / 90th percentile</span>
          <span className="stat-value" data-testid="personal-gain-deciles">{g ? `${pp(g.personalGainP10)} / ${pp(g.personalGainMedian)} / ${pp(g.personalGainP90)}` : '—'}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Participants who gained</span>
          <span className="stat-value" data-testid="personal-gain-share">{g ? `${Math.round(g.personalGainImprovedShare! * 100)}% of ${g.personalGainClients}` : '—'}</span>
        </div>
      </div>
      {!g && <p className="small muted" data-testid="personal-missing">{text.missing}</p>}
      <MetricChart title={text.gainTitle} label="median gain" rounds={series.rounds} values={series.median} testId="chart-personal-gain" />
    </section>
  );
}
