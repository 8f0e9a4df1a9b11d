import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ParticipantState } from '@chorus/client';
import { RoundPanel } from './round-panel.js';

const progress = { download: 1, train: 0.5, upload: 0, epoch: 1, epochs: 1, batch: 3, batchesPerEpoch: 6 };

/** The panel's text as a reader sees it, for a task of `mode` with this progress and receipt. */
function text(mode: 'sync' | 'async', round: number | undefined, receipt?: ParticipantState['lastReceipt']): string {
  const state = { task: { mode }, progress: { ...progress, ...(round ? { round, roundId: `t-r${round}` } : {}) }, ...(receipt ? { lastReceipt: receipt } : {}) } as unknown as ParticipantState;
  return renderToStaticMarkup(createElement(RoundPanel, { state })).replace(/<[^>]+>/g, ' ');
}

describe('RoundPanel', () => {
  it('speaks of rounds in a synchronous task', () => {
    expect(text('sync', 4)).toContain('This round:  #4');
    expect(text('sync', undefined)).toContain('Waiting for the next round');
    expect(text('sync', 4, { round: 3, accepted: true })).toContain('Receipt for round #3: accepted');
  });

  it('speaks of one update after another in an asynchronous task, never of rounds', () => {
    const working = text('async', 12, { round: 11, accepted: true, note: 'staleness 1, weight 0.707' });
    const idle = text('async', undefined);

    expect(working).toContain('Training your next update');
    expect(working).toContain('Your last update: accepted — staleness 1, weight 0.707');
    expect(idle).toContain('Ready to train the next update');
    expect(idle).toContain('learns continuously');
    expect(`${working} ${idle}`).not.toMatch(/round/i);
  });
});
