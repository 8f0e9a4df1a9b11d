import { describe, expect, it } from 'vitest';
import type { ParticipantState } from '@chorus/client';
import { describeStatus } from './use-embed-participant.js';

/** A running participant between updates, for a task of `mode`. */
const flags = { partnerPaused: false, done: false, forgotten: false, startError: null };
const between = (mode: 'sync' | 'async') => ({ phase: 'running', sessionStatus: 'waiting', pauseReasons: [], task: { mode }, contributions: { roundsJoined: 2 }, examples: { total: 40 } }) as unknown as ParticipantState;

describe('the embed frame status a partner page hears', () => {
  it('waits for the next round in a synchronous task, and is ready for the next update in an asynchronous one', () => {
    expect(describeStatus(between('sync'), flags)).toMatchObject({ phase: 'waiting', text: 'Waiting for the next round.', rounds: 2, examples: 40 });
    expect(describeStatus(between('async'), flags)).toMatchObject({ phase: 'waiting', text: 'Ready to train the next update.' });
  });
});
