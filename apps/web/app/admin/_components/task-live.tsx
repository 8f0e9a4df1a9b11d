'use client';

import { useCallback, useEffect, useMemo, useState } from 'react';
import { useAdmin } from './admin-context.js';
import { formatBytes } from '../../../lib/format.js';
import { dateTime, percent } from './format.js';
import { MetricChart } from './metric-chart.js';
import { PersonalizationPanel } from './personalization-panel.js';
import { PrivacyPanel } from './privacy-panel.js';
import { RoundTable } from './round-table.js';
import { SecureAggregationCard } from './secure-aggregation-card.js';
import { useAdminFeed, type FeedEvent } from './use-admin-feed.js';
import type { RoundRow, TaskSummary, VersionRow } from './types.js';

const ACTIONS: Record<string, { action: string; label: string }[]> = {
  created: [{ action: 'start', label: 'Start' }],
  running: [
    { action: 'pause', label: 'Pause' },
    { action: 'stop', label: 'Stop' },
  ],
  paused: [
    { action: 'resume', label: 'Resume' },
    { action: 'stop', label: 'Stop' },
  ],
  stopped: [{ action: 'start', label: 'Start again' }],
  completed: [],
};

/** Merges a pushed round into the list (newest first) without reloading the page. */
function upsertRound(rounds: RoundRow[], row: RoundRow): RoundRow[] {
  const rest = rounds.filter((r) => r.round !== row.round);
  return [row, ...rest].sort((a, b) => b.round - a.round);
}

export function TaskLive({ taskId }: { taskId: string }) {
  const { api, serverUrl, user } = useAdmin();
  const [task, setTask] = useState<TaskSummary | null>(null);
  const [rounds, setRounds] = useState<RoundRow[]>([]);
  const [versions, setVersions] = useState<VersionRow[]>([]);
  const [counts, setCounts] = useState<{ connected: number; byBackend: Record<string, number> }>({ connected: 0, byBackend: {} });
  const [error, setError] = useState<string | null>(null);
  const path = `/api/tasks/${encodeURIComponent(taskId)}`;

  const loadTask = useCallback(() => api<{ task: TaskSummary }>(path).then((r) => setTask(r.task), (e: Error) => setError(e.message)), [api, path]);
  useEffect(() => {
    void loadTask();
    api<{ rounds: RoundRow[] }>(`${path}/rounds?limit=500`).then((r) => setRounds(r.rounds), (e: Error) => setError(e.message));
    api<{ versions: VersionRow[] }>(`${path}/versions?limit=500`).then((r) => setVersions(r.versions), (e: Error) => setError(e.message));
  }, [api, path, loadTask]);

  const feed = useAdminFeed(
    taskId,
    (e: FeedEvent) => {
      if (e.type === 'participants') return setCounts({ connected: e.connected, byBackend: e.byBackend });
      if (e.type === 'round:opened') {
        setRounds((rs) => upsertRound(rs, { round: e.round, version: e.version, state: 'collecting', startedAt: e.startedAt, closedAt: null, selected: e.selected, participants: 0, failures: [], bytesUp: 0, bytesDown: 0, metrics: {}, abandonReason: null }));
      } else if (e.type === 'round:closed') {
        setRounds((rs) => {
          const before = rs.find((r) => r.round === e.round);
          return upsertRound(rs, {
            round: e.round,
            version: e.version === null ? (before?.version ?? 0) : e.version - 1,
            state: e.state,
            startedAt: e.startedAt ?? before?.startedAt ?? e.closedAt,
            closedAt: e.closedAt,
            selected: before?.selected ?? e.participants + e.failures.length,
            participants: e.participants,
            failures: e.failures,
            bytesUp: e.bytesUp,
            bytesDown: e.bytesDown,
            metrics: e.metrics,
            abandonReason: e.reason,
          });
        });
        if (e.state === 'committed' && e.version !== null) {
          const v = e.version;
          setVersions((vs) => [{ version: v, round: e.round, metrics: e.metrics, byteLength: 0, createdAt: e.closedAt }, ...vs.filter((x) => x.version !== v)]);
        }
      } else if (e.type === 'version:metrics') {
        setVersions((vs) => vs.map((v) => (v.version === e.version ? { ...v, metrics: { ...v.metrics, ...e.metrics } } : v)));
        setRounds((rs) => rs.map((r) => (r.state === 'committed' && r.version + 1 === e.version ? { ...r, metrics: { ...r.metrics, ...e.metrics } } : r)));
      }
      if (e.type !== 'receipt') void loadTask();
    },
    setCounts,
  );

  // Charts: one point per committed version, central evaluation when the server ran one.
  const series = useMemo(() => {
    const vs = versions.filter((v) => v.version > 0).sort((a, b) => a.round - b.round);
    const acc = vs.filter((v) => typeof v.metrics.accuracy === 'number');
    const loss = vs.filter((v) => typeof v.metrics.loss === 'number');
    return { accRounds: acc.map((v) => v.round), acc: acc.map((v) => v.metrics.accuracy!), lossRounds: loss.map((v) => v.round), loss: loss.map((v) => v.metrics.loss!) };
  }, [versions]);

  async function act(action: string) {
    setError(null);
    try {
      await api(`${path}/${action}`, { method: 'POST', body: {} });
      await loadTask();
    } catch (err) {
      setError((err as Error).message);
    }
  }

  if (!task) return error ? <p className="error">{error}</p> : <p className="muted">Loading task…</p>;
  const totals = rounds.reduce((t, r) => ({ up: t.up + r.bytesUp, down: t.down + r.bytesDown, drop: t.drop + r.failures.filter((f) => ['DISCONNECTED', 'DEADLINE', 'DECLINED'].includes(f.code)).length }), { up: 0, down: 0, drop: 0 });
  const c = task.config;
  return (
    <>
      <div className="row spread">
        <div>
          <h1>{task.name}</h1>
          <p className="muted small">
            {task.id} · {c.template ?? 'uploaded model'} · {c.strategy.id} · {c.codec} · {c.rounds.targetClients} clients per round, quorum {c.rounds.minClients},{' '}
            {c.rounds.deadlineMs / 1000} s deadline · {c.training.localEpochs} epoch(s), batch {c.training.batchSize}, learning rate {c.training.learningRate}
          </p>
        </div>
        <div className="row">
          <span className={`feed feed-${feed}`} data-testid="feed-state">
            {feed === 'live' ? 'Live' : feed === 'connecting' ? 'Connecting…' : 'Offline'}
          </span>
          <span className={`status status-${task.status}`} data-testid="task-status">
            {task.status}
          </span>
          {(ACTIONS[task.status] ?? []).map((a) => (
            <button key={a.action} type="button" disabled={user?.role !== 'operator'} title={user?.role !== 'operator' ? 'Only operators can change tasks' : undefined} onClick={() => void act(a.action)} data-testid={`action-${a.action}`}>
              {a.label}
            </button>
          ))}
        </div>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <section className="stats">
        <div className="stat">
          <span className="stat-label">Model version</span>
          <span className="stat-value" data-testid="stat-version">{task.latestVersion}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Round now</span>
          <span className="stat-value">{task.currentRound ? `${task.currentRound.round}: ${task.currentRound.accepted} of ${task.currentRound.selected}` : task.phase}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Connected</span>
          <span className="stat-value" data-testid="stat-connected">{counts.connected}</span>
          <span className="muted small" data-testid="stat-backends">
            {Object.entries(counts.byBackend).map(([b, n]) => `${b} ${n}`).join(' · ') || 'nobody'}
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">Accuracy</span>
          <span className="stat-value">{percent(series.acc.at(-1))}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Dropouts</span>
          <span className="stat-value">{totals.drop}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Bytes up / down</span>
          <span className="stat-value small-value">
            {formatBytes(totals.up)} / {formatBytes(totals.down)}
          </span>
        </div>
      </section>
      <section className="charts">
        <MetricChart title="Held-out accuracy by round" label="accuracy" rounds={series.accRounds} values={series.acc} testId="chart-accuracy" asPercent />
        <MetricChart title="Held-out loss by round" label="loss" rounds={series.lossRounds} values={series.loss} testId="chart-loss" />
      </section>
      <PrivacyPanel task={task} rounds={rounds} />
      <SecureAggregationCard task={task} />
      <PersonalizationPanel task={task} rounds={rounds} />
      <section className="card">
        <h2>Rounds</h2>
        <RoundTable taskId={taskId} rounds={rounds} codec={task.config.codec} secure={task.config.secureAggregation !== undefined} />
      </section>
      <section className="card">
        <h2>Model versions</h2>
        <p className="muted small">TensorFlow.js Layers format: load with <code>tf.loadLayersModel(url of model.json)</code>; keep weights.bin beside it.</p>
        <table className="table" data-testid="version-table">
          <thead>
            <tr>
              <th>Version</th>
              <th>From round</th>
              <th>Accuracy</th>
              <th>Created</th>
              <th>Download</th>
            </tr>
          </thead>
          <tbody>
            {[...versions].sort((a, b) => b.version - a.version).map((v) => {
              const base = `${serverUrl}${path}/versions/${v.version}`;
              return (
                <tr key={v.version}>
                  <td>{v.version}</td>
                  <td>{v.round === 0 ? 'initial' : v.round}</td>
                  <td>{percent(v.metrics.accuracy)}</td>
                  <td>{dateTime(v.createdAt)}</td>
                  <td>
                    <a href={`${base}/model.json`} download={`${taskId}-v${v.version}-model.json`} data-testid={`download-model-${v.version}`}>
                      model.json
                    </a>{' '}
                    · <a href={`${base}/weights.bin`} download="weights.bin">weights.bin</a>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </>
  );
}
