'use client';

import { percent, seconds } from './format.js';
import type { RoundSelection } from './types.js';

const KIND_TEXT = { uniform: 'picked at random', exploit: 'picked for its utility', explore: 'new: explored', resume: 'invited again: its round was restarted after a failover' } as const;

/** Why each participant of a round was picked: the policy, and per pseudonymous id what it saw. */
export function SelectionReasons({ round, selection }: { round: number; selection: RoundSelection }) {
  return (
    <div data-testid={`selection-${round}`}>
      <p className="muted small">
        Selection: <strong>{selection.policy}</strong> — why each participant was invited
      </p>
      <ul className="receipts">
        {selection.reasons.map((x) => (
          <li key={x.participantId}>
            <code>{x.participantId.slice(0, 8)}</code> {KIND_TEXT[x.kind]}
            {typeof x.utility === 'number' && <span> · utility {x.utility.toPrecision(3)}</span>}
            {typeof x.speed === 'number' && <span> · {x.speed.toFixed(0)} examples/s</span>}
            {typeof x.reliability === 'number' && <span> · reliability {percent(x.reliability)}</span>}
            {typeof x.expectedMs === 'number' && <span className="muted"> · expected {seconds(x.expectedMs)}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}
