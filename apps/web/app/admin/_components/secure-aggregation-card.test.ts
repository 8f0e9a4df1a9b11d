import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { SecureAggregationCard } from './secure-aggregation-card.js';
import type { TaskSummary } from './types.js';

const secureAggregation = { neighbours: 7, threshold: 4, quantizationBits: 16, stageDeadlineMs: 10_000 };

/** The card's text as a reader sees it, for a task with these config fields. */
function text(config: Partial<TaskSummary['config']>): string {
  const task = { config: { secureAggregation, ...config } } as unknown as TaskSummary;
  return renderToStaticMarkup(createElement(SecureAggregationCard, { task })).replace(/<[^>]+>/g, '');
}

describe('SecureAggregationCard', () => {
  it("speaks of a round's sum in a synchronous task and of a cohort's in an asynchronous one", () => {
    expect(text({})).toContain('the server can only unmask the sum of a round’s updates — never one of them');
    expect(text({})).toContain('A round with fewer than 5 participants left is abandoned');
    const async = text({ mode: 'async', async: { bufferSize: 8 } });
    expect(async).toContain('the server can only unmask the sum of each cohort’s updates (8 participants at a time) — never one of them');
    expect(async).toContain('A cohort with fewer than 5 participants left is abandoned');
    expect(async).not.toMatch(/round/);
  });
});
