'use client';

import { useCallback, useEffect, useState } from 'react';
import { useAdmin } from '../_components/admin-context.js';
import { dateTime } from '../_components/format.js';

interface Entry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  status: number;
  ip: string | null;
  detail: string | null;
}

const PAGE = 100;

/** Every change anyone asked for, allowed or refused, newest first. */
export default function AuditPage() {
  const { api } = useAdmin();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    (before?: number) => {
      api<{ entries: Entry[] }>(`/api/admin/audit?limit=${PAGE}${before ? `&before=${before}` : ''}`).then(
        (r) => {
          setEntries((old) => (before ? [...old, ...r.entries] : r.entries));
          setMore(r.entries.length === PAGE);
        },
        (e: Error) => setError(e.message),
      );
    },
    [api],
  );
  useEffect(() => load(), [load]);

  return (
    <>
      <div className="row spread">
        <h1>Audit log</h1>
        <button type="button" onClick={() => load()}>
          Refresh
        </button>
      </div>
      {error && <p className="error">{error}</p>}
      <table className="table" data-testid="audit-table">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>Action</th>
            <th>Target</th>
            <th>Outcome</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.seq} data-testid="audit-row">
              <td>{dateTime(e.at)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target ?? '—'}</td>
              <td>
                <span className={`status outcome-${e.outcome}`}>{e.outcome}</span>
                {e.detail && <span className="muted small"> {e.detail}</span>}
              </td>
              <td className="muted small">{e.ip ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries.length === 0 && !error && <p className="muted">Nothing recorded yet.</p>}
      {more && (
        <button type="button" onClick={() => load(entries.at(-1)?.seq)}>
          Older entries
        </button>
      )}
    </>
  );
}
