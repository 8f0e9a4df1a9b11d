import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { SelectionReasons } from './selection-reasons.js';

describe('SelectionReasons', () => {
  it("shows an Oort pick's utility, speed, reliability and expected time, and an explored one's speed alone", () => {
    const selection = {
      policy: 'oort',
      reasons: [
        { participantId: 'aaaaaaaa-1111', kind: 'exploit' as const, utility: 0.123456, speed: 119.6, reliability: 2 / 3, expectedMs: 8400 },
        { participantId: 'bbbbbbbb-2222', kind: 'explore' as const, speed: 80 },
      ],
    };

    // Text as a reader sees it: tags dropped, React's text separators gone.
    const text = renderToStaticMarkup(createElement(SelectionReasons, { round: 2, selection })).replace(/<[^>]+>/g, '');

    expect(text).toContain('Selection: oort — why each participant was invited');
    expect(text).toContain('aaaaaaaa picked for its utility · utility 0.123 · 120 examples/s · reliability 66.7% · expected 8.4 s');
    expect(text).toContain('bbbbbbbb new: explored · 80 examples/s');
    expect(text).not.toMatch(/bbbbbbbb new: explored · 80 examples\/s ·/);
  });
});
