'use client';

import { Fragment, useState } from 'react';
import { useAdmin } from './admin-context.js';
import { formatBytes } from '../../../lib/format.js';
import { percent, seconds, time } from './format.js';
import type { Receipt, RoundRow, RoundSelection } from './types.js';
import { SelectionReasons } from './selection-reasons.js';
import { securelyAggregatedLabel } from './secure-aggregation-card.js';

const DROPOUT_CODES = new Set(['DISCONNECTED', 'DEADLINE', 'DECLINED']);

/**
 * The round timeline, newest first; a round opens to show each update receipt and its reason.
 * A securely aggregated task's committed rounds say so (the server saw only their sum).
 * Bytes are shown per round and per participant (uploads ÷ updates, downloads ÷ selected), with the codec.
 */
export function RoundTable({ taskId, rounds, codec, secure = false }: { taskId: string; rounds: RoundRow[]; codec: string; secure?: boolean }) {
  const { api } = useAdmin();
  const [open, setOpen] = useState<number | null>(null);
  const [receipts, setReceipts] = useState<Record<number, Receipt[] | string>>({});
  const [selections, setSelections] = useState<Record<number, RoundSelection | null>>({});

  async function toggle(round: number) {
    if (open === round) return setOpen(null);
    setOpen(round);
    try {
      const r = await api<{ receipts: Receipt[] }>(`/api/tasks/${encodeURIComponent(taskId)}/rounds/${round}/receipts`);
      setReceipts((m) => ({ ...m, [round]: r.receipts }));
      const s = await api<{ selection: RoundSelection | null }>(`/api/tasks/${encodeURIComponent(taskId)}/rounds/${round}/selection`);
      setSelections((m) => ({ ...m, [round]: s.selection }));
    } catch (err) {
      setReceipts((m) => ({ ...m, [round]: (err as Error).message }));
    }
  }

  if (rounds.length === 0) return <p className="muted">No rounds yet: a round opens when enough eligible participants are connected.</p>;
  return (
    <table className="table" data-testid="round-table">
      <thead>
        <tr>
          <th>Round</th>
          <th>Outcome</th>
          <th>Updates</th>
          <th>Dropouts</th>
          <th>Up / down</th>
          <th>Duration</th>
          <th>Accuracy</th>
          <th>
            <span className="visually-hidden">Receipts</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rounds.map((r) => {
          const dropouts = r.failures.filter((f) => DROPOUT_CODES.has(f.code)).length;
          const list = receipts[r.round];
          return (
            <Fragment key={r.round}>
              <tr data-testid={`round-${r.round}`} data-state={r.state}>
                <td>
                  {r.round}
                  <div className="muted small">{time(r.startedAt)}</div>
                </td>
                <td>
                  <span className={`status status-${r.state}`}>{r.state === 'committed' ? `version ${r.version + 1}` : r.state}</span>
                  {r.abandonReason && <div className="muted small">{r.abandonReason}</div>}
                  {secure && r.state === 'committed' && (
                    <div className="small" data-testid={`round-${r.round}-secure`}>
                      {securelyAggregatedLabel(r.participants)}
                    </div>
                  )}
                </td>
                <td>
                  {r.participants} of {r.selected}
                </td>
                <td>{dropouts}</td>
                <td>
                  {formatBytes(r.bytesUp)} / {formatBytes(r.bytesDown)}
                  <div className="muted small" data-testid={`round-${r.round}-per-participant`}>
                    {formatBytes(r.participants > 0 ? Math.round(r.bytesUp / r.participants) : 0)} / {formatBytes(r.selected > 0 ? Math.round(r.bytesDown / r.selected) : 0)} each · {codec}
                  </div>
                </td>
                <td>{r.closedAt ? seconds(r.closedAt - r.startedAt) : 'running'}</td>
                <td>{percent(r.metrics.accuracy)}</td>
                <td>
                  <button type="button" className="link" onClick={() => void toggle(r.round)}>
                    {open === r.round ? 'Hide receipts' : 'Receipts'}
                  </button>
                </td>
              </tr>
              {open === r.round && (
                <tr className="detail">
                  <td colSpan={8}>
                    {typeof list === 'string' && <p className="error">{list}</p>}
                    {Array.isArray(list) && list.length === 0 && <p className="muted small">No update arrived in this round.</p>}
                    {Array.isArray(list) && list.length > 0 && (
                      <ul className="receipts" data-testid={`receipts-${r.round}`}>
                        {list.map((x, i) => (
                          <li key={i} className={x.accepted ? 'ok' : 'refused'}>
                            <code>{x.participantId.slice(0, 8)}</code> {formatBytes(x.bytes)}
                            {typeof x.l2Norm === 'number' && <span className="muted"> · norm {x.l2Norm.toPrecision(3)}</span>} — {x.accepted ? 'accepted' : `rejected (${x.code ?? 'unknown'})`}
                            {x.reason && <span className={x.accepted ? 'note' : undefined} data-testid="receipt-note">{x.accepted ? ` · note: ${x.reason}` : `: ${x.reason}`}</span>}
                          </li>
                        ))}
                      </ul>
                    )}
                    {selections[r.round] && <SelectionReasons round={r.round} selection={selections[r.round]!} />}
                    {r.failures.length > 0 && (
                      <ul className="receipts">
                        {r.failures.map((f) => (
                          <li key={f.participantId} className="refused">
                            <code>{f.participantId.slice(0, 8)}</code> {f.code}: {f.reason}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}
