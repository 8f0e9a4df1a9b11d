'use client';

import { useCallback, useEffect, useState } from 'react';
import { useAdmin } from './_components/admin-context.js';
import { CreateTaskForm } from './_components/create-task-form.js';
import { useAdminFeed } from './_components/use-admin-feed.js';
import type { TaskSummary } from './_components/types.js';

export default function TasksPage() {
  const { api, user } = useAdmin();
  const [tasks, setTasks] = useState<TaskSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);

  const load = useCallback(() => {
    api<{ tasks: TaskSummary[] }>('/api/tasks').then(
      (r) => (setTasks(r.tasks), setError(null)),
      (e: Error) => setError(e.message),
    );
  }, [api]);
  useEffect(load, [load]);
  // Status, rounds and new tasks arrive on the admin feed: the list stays current without reloading.
  useAdminFeed(null, (event) => {
    if (event.type !== 'participants' && event.type !== 'receipt') load();
  });

  return (
    <>
      <div className="row spread">
        <h1>Tasks</h1>
        {user?.role === 'operator' && (
          <button className="primary" type="button" onClick={() => setCreating(!creating)} data-testid="new-task">
            {creating ? 'Close' : 'New task'}
          </button>
        )}
      </div>
      {creating && (
        <CreateTaskForm
          onCreated={() => {
            setCreating(false);
            load();
          }}
        />
      )}
      {error && <p className="error">{error}</p>}
      {tasks && tasks.length === 0 && <p className="muted">No tasks yet.</p>}
      {tasks && tasks.length > 0 && (
        <table className="table" data-testid="task-list">
          <thead>
            <tr>
              <th>Task</th>
              <th>Status</th>
              <th>Model version</th>
              <th>Round</th>
              <th>Connected</th>
              <th>Strategy</th>
            </tr>
          </thead>
          <tbody>
            {tasks.map((t) => (
              <tr key={t.id} data-testid={`task-row-${t.id}`}>
                <td>
                  <a href={`/admin/tasks/${encodeURIComponent(t.id)}`}>{t.name}</a>
                  <div className="muted small">{t.id}</div>
                </td>
                <td>
                  <span className={`status status-${t.status}`}>{t.status}</span>
                  <div className="muted small">{t.phase}</div>
                </td>
                <td>{t.latestVersion}</td>
                <td>{t.currentRound ? `${t.currentRound.round} (${t.currentRound.accepted}/${t.currentRound.selected})` : '—'}</td>
                <td>{t.connected}</td>
                <td>{t.config.strategy.id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
