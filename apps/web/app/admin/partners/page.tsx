'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useAdmin } from '../_components/admin-context.js';
import { STORAGE_FALLBACKS, type StorageFallback } from '@chorus/core';
import { bodyOf, draftOf, EMPTY_DRAFT, STORAGE_FALLBACK_TEXT, type PartnerKeyDraft, type PartnerKeyRow } from './partner-key-form.js';

/**
 * Partner sites: the keys behind `<script src=".../embed.js" data-key>`, which sites and tasks each
 * allows, its daily visitor limit, and what came through it. Viewers read; operators change.
 */
export default function PartnersPage() {
  const { api, user } = useAdmin();
  const operator = user?.role === 'operator';
  const [keys, setKeys] = useState<PartnerKeyRow[]>([]);
  const [draft, setDraft] = useState<PartnerKeyDraft>(EMPTY_DRAFT);
  const [editing, setEditing] = useState<string | null>(null);
  const [message, setMessage] = useState<{ kind: 'error' | 'notice'; text: string } | null>(null);

  const load = useCallback(() => {
    api<{ keys: PartnerKeyRow[] }>('/api/partner-keys').then((r) => setKeys(r.keys), (e: Error) => setMessage({ kind: 'error', text: e.message }));
  }, [api]);
  useEffect(load, [load]);

  /** Runs a change; `what` resolves with the notice to show. */
  const act = async (what: () => Promise<string>): Promise<boolean> => {
    try {
      setMessage({ kind: 'notice', text: await what() });
      load();
      return true;
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
      return false;
    }
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    const made = bodyOf(draft, editing === null);
    if ('error' in made) return setMessage({ kind: 'error', text: made.error });
    let ok: boolean;
    if (editing === null) {
      ok = await act(async () => `Key ${(await api<{ key: PartnerKeyRow }>('/api/partner-keys', { method: 'POST', body: made.body })).key.id} created.`);
    } else {
      ok = await act(async () => (await api(`/api/partner-keys/${encodeURIComponent(editing)}`, { method: 'PUT', body: made.body }), `Key ${editing} saved.`));
    }
    // On a refusal the form keeps what was typed, so the operator can fix it.
    if (!ok) return;
    setDraft(EMPTY_DRAFT);
    setEditing(null);
  }

  const toggle = (k: PartnerKeyRow) =>
    act(async () => (await api(`/api/partner-keys/${encodeURIComponent(k.id)}`, { method: 'PUT', body: { ...bodyOfRow(k), active: !k.active } }), `Key ${k.id} ${k.active ? 'switched off' : 'switched on'}.`));
  const remove = (k: PartnerKeyRow) => {
    if (!window.confirm(`Delete the key ${k.id} (${k.name})? Sites using it stop working at once, and its usage counts are deleted.`)) return;
    void act(async () => (await api(`/api/partner-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' }), `Key ${k.id} deleted.`));
  };

  return (
    <>
      <h1>Partner sites</h1>
      <p className="muted">
        Each key lets the sites listed for it embed Chorus with one script tag. The browser refuses to show the Chorus frame anywhere else.
      </p>
      {message && <p className={message.kind}>{message.text}</p>}
      <table className="table" data-testid="partner-keys">
        <thead>
          <tr>
            <th>Key</th>
            <th>Sites allowed</th>
            <th>Tasks</th>
            <th>Visitors a day</th>
            <th>Where storage is blocked</th>
            <th>Participants today / all time</th>
            <th>Updates contributed</th>
            <th>State</th>
            {operator && (
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id} data-testid={`partner-key-${k.id}`}>
              <td>
                <code>{k.id}</code>
                <div className="small muted">{k.name}</div>
              </td>
              <td>{k.allowedOrigins.join(', ')}</td>
              <td>{k.allowedTasks.includes('*') ? 'every task' : k.allowedTasks.join(', ')}</td>
              <td>{k.quotaPerDay === 0 ? 'no limit' : k.quotaPerDay}</td>
              <td className="small">{k.storageFallback === 'link' ? 'link to Chorus' : 'train from memory'}</td>
              <td>
                {k.usage.participantsToday} / {k.usage.participantsAllTime}
              </td>
              <td>
                {k.usage.updatesAllTime} <span className="small muted">({k.usage.updatesToday} today)</span>
              </td>
              <td>
                <span className={`status status-${k.active ? 'running' : 'stopped'}`}>{k.active ? 'on' : 'off'}</span>
              </td>
              {operator && (
                <td className="row">
                  <button type="button" onClick={() => (setEditing(k.id), setDraft(draftOf(k)), setMessage(null))}>
                    Edit
                  </button>
                  <button type="button" onClick={() => void toggle(k)}>
                    {k.active ? 'Switch off' : 'Switch on'}
                  </button>
                  <button type="button" onClick={() => remove(k)}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {keys.length === 0 && <p className="muted">No partner keys yet.</p>}
      {operator ? (
        <form className="card form narrow" onSubmit={submit}>
          <h2>{editing === null ? 'New partner key' : `Edit ${editing}`}</h2>
          {editing === null && (
            <label>
              Key id (leave empty for a random pk_… id)
              <input value={draft.id} onChange={(e) => setDraft({ ...draft, id: e.target.value })} placeholder="pk_news" autoComplete="off" />
            </label>
          )}
          <label>
            Partner name
            <input value={draft.name} onChange={(e) => setDraft({ ...draft, name: e.target.value })} required />
          </label>
          <label>
            Sites allowed, one origin a line (http://localhost:* allows any port)
            <textarea rows={3} value={draft.origins} onChange={(e) => setDraft({ ...draft, origins: e.target.value })} placeholder="https://news.example" required />
          </label>
          <label>
            Tasks, one id a line (* for every task)
            <textarea rows={2} value={draft.tasks} onChange={(e) => setDraft({ ...draft, tasks: e.target.value })} required />
          </label>
          <label>
            Visitors a day (0 means no limit)
            <input type="number" min={0} step={1} value={draft.quota} onChange={(e) => setDraft({ ...draft, quota: e.target.value })} />
          </label>
          <label>
            When the visitor&apos;s browser blocks Chorus&apos;s storage inside this site
            <select value={draft.storageFallback} onChange={(e) => setDraft({ ...draft, storageFallback: e.target.value as StorageFallback })} data-testid="partner-storage-fallback">
              {STORAGE_FALLBACKS.map((f) => (
                <option key={f} value={f}>
                  {STORAGE_FALLBACK_TEXT[f]}
                </option>
              ))}
            </select>
          </label>
          <label className="inline">
            <input type="checkbox" checked={draft.active} onChange={(e) => setDraft({ ...draft, active: e.target.checked })} /> Key is on
          </label>
          <div className="row">
            <button className="primary" type="submit">
              {editing === null ? 'Create key' : 'Save key'}
            </button>
            {editing !== null && (
              <button type="button" onClick={() => (setEditing(null), setDraft(EMPTY_DRAFT))}>
                Cancel
              </button>
            )}
          </div>
        </form>
      ) : (
        <p className="muted">Only operators can create or change partner keys.</p>
      )}
    </>
  );
}

const bodyOfRow = (k: PartnerKeyRow) => ({ name: k.name, allowedOrigins: k.allowedOrigins, allowedTasks: k.allowedTasks, quotaPerDay: k.quotaPerDay, storageFallback: k.storageFallback });
