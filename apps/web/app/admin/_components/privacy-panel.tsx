'use client';

import { useMemo } from 'react';
import './privacy.css';
import { MetricChart } from './metric-chart.js';
import type { RoundRow, TaskSummary } from './types.js';

interface DpConfig {
  readonly noiseMultiplier?: number;
  readonly targetDelta?: number;
  readonly epsilonBudget?: number;
  readonly adaptiveClipping?: unknown;
}

const fmt = (x: number | undefined, digits = 3): string => (x === undefined || !Number.isFinite(x) ? '—' : Number(x.toPrecision(digits)).toString());

/** The task's DP options, when it has any (strategy.options.dp, validated by the server). */
export function taskDp(task: TaskSummary): DpConfig | undefined {
  const dp = task.config.strategy.options?.dp;
  return dp && typeof dp === 'object' ? (dp as DpConfig) : undefined;
}

/**
 * What the task has spent of its privacy budget, from the DP metrics each committed round reports
 * (epsilon, delta, clipNorm, noiseStd, fractionClipped), with ε over rounds.
 */
export function PrivacyPanel({ task, rounds }: { task: TaskSummary; rounds: readonly RoundRow[] }) {
  const dp = taskDp(task);
  const localDp = task.config.privacy?.localDp;
  const series = useMemo(() => {
    const done = rounds.filter((r) => r.state === 'committed' && typeof r.metrics.epsilon === 'number').sort((a, b) => a.round - b.round);
    return { rounds: done.map((r) => r.round), epsilon: done.map((r) => r.metrics.epsilon!), last: done.at(-1)?.metrics };
  }, [rounds]);
  if (!dp && !localDp) return null;

  const budget = dp?.epsilonBudget;
  const spent = series.last?.epsilon ?? 0;
  const share = budget ? Math.min(1, spent / budget) : 0;
  return (
    <section className="card" data-testid="privacy-panel">
      <h2>Privacy</h2>
      {dp && (
        <>
          <p className="muted small">
            Differential privacy on the server (DP-FedAvg): every update is clipped and the average is noised (noise multiplier {fmt(dp.noiseMultiplier)}
            {dp.adaptiveClipping ? ', adaptive clipping' : ''}). ε is accounted with Rényi DP across rounds.
          </p>
          <div className="stats">
            <div className="stat">
              <span className="stat-label">ε spent{budget ? ` of ${fmt(budget)}` : ' (no budget set)'}</span>
              <span className="stat-value" data-testid="privacy-epsilon">{fmt(spent)}</span>
              {budget !== undefined && (
                <div className={`budget-bar${spent >= budget ? ' over' : ''}`} role="meter" aria-valuemin={0} aria-valuemax={budget} aria-valuenow={spent} aria-label="privacy budget spent" data-testid="privacy-budget-bar">
                  <span style={{ width: `${(share * 100).toFixed(1)}%` }} />
                </div>
              )}
            </div>
            <div className="stat">
              <span className="stat-label">δ</span>
              <span className="stat-value" data-testid="privacy-delta">{fmt(series.last?.delta ?? dp.targetDelta)}</span>
            </div>
            <div className="stat">
              <span className="stat-label">Clip norm now</span>
              <span className="stat-value" data-testid="privacy-clip">{fmt(series.last?.clipNorm)}</span>
            </div>
            <div className="stat">
              <span className="stat-label">Noise std on the sum</span>
              <span className="stat-value" data-testid="privacy-noise">{fmt(series.last?.noiseStd)}</span>
            </div>
            <div className="stat">
              <span className="stat-label">Updates clipped last round</span>
              <span className="stat-value" data-testid="privacy-clipped">{series.last?.fractionClipped === undefined ? '—' : `${Math.round(series.last.fractionClipped * 100)}%`}</span>
            </div>
          </div>
          {task.status === 'completed' && budget !== undefined && spent > 0 && <p className="notice">The privacy budget is spent: the task completed before a round that would have gone over it.</p>}
          <MetricChart title="ε spent by round" label="epsilon" rounds={series.rounds} values={series.epsilon} testId="chart-epsilon" />
        </>
      )}
      {localDp && (
        <p className="small" data-testid="privacy-local-dp">
          Local DP: each participant clips its update to {fmt(localDp.clipNorm)} and adds noise of std {fmt(localDp.clipNorm * localDp.noiseMultiplier)} to every value before sending it.
        </p>
      )}
    </section>
  );
}
