'use client';

import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { DataSchema } from '@chorus/core';
import { acceptSuggestion, createNextWordEncoder, newlyCompleted, splitTyped, suggestWords, UNK_ID } from '@chorus/ml/data';
import { loadSuggestionModel, type SuggestionModel, type SuggestionPersonalization } from './keyboard-model.js';

/** Whether the person ticked "learn from what I type" for a task; "Delete my data" removes it. */
export const keyboardLearnKey = (taskId: string) => `chorus-keyboard-learn:${taskId}`;
export const keyboardStatsKey = (taskId: string) => `chorus-keyboard-stats:${taskId}`;
/** Words per point of the accuracy-over-time strip. */
const BLOCK = 10;
/** Most recent words whose hit or miss is kept (no words, only whether a suggestion had it). */
const KEPT = 1_000;

function readHits(taskId: string): number[] {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(keyboardStatsKey(taskId)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((v): v is number => v === 0 || v === 1) : [];
  } catch {
    return [];
  }
}

/**
 * The keyboard task's text box: the global model suggests the next word as the person types (Tab or
 * a tap accepts the first / the tapped one). Only with "learn from what I type" ticked does each
 * finished in-vocabulary word become a training example (its word ids, not the text) in IndexedDB.
 * Whether each finished word was among the three suggestions is kept, as a 0/1 per word, for the
 * top-3 accuracy over time; "Delete my data" removes both.
 */
export function KeyboardBox({
  serverUrl,
  taskId,
  data,
  version,
  personal,
  onLearn,
}: {
  readonly serverUrl: string;
  readonly taskId: string;
  readonly data: DataSchema;
  /** The global version to suggest with: 'latest' until the first model:updated names one. */
  readonly version: number | 'latest';
  /** A personalized task: suggestions come from this device's own layers over the shared ones. */
  readonly personal?: SuggestionPersonalization | undefined;
  readonly onLearn: (rows: { x: Float32Array; y: number }[]) => Promise<void>;
}) {
  const encoder = useMemo(() => createNextWordEncoder(data.vocabulary ?? []), [data.vocabulary]);
  const context = data.inputShape[0] ?? 8;
  const [text, setText] = useState('');
  const [learn, setLearn] = useState(false);
  const [hits, setHits] = useState<number[]>([]);
  const [learned, setLearned] = useState(0);
  const [model, setModel] = useState<SuggestionModel>();
  const [modelError, setModelError] = useState<string>();
  const completedRef = useRef<string[]>([]);
  const boxRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    setLearn(window.localStorage.getItem(keyboardLearnKey(taskId)) === 'yes');
    setHits(readHits(taskId));
  }, [taskId]);

  useEffect(() => {
    if (model && (model.version === version || version === 'latest')) return;
    let cancelled = false;
    loadSuggestionModel(serverUrl, taskId, version, personal).then(
      (m) => {
        if (cancelled) return m.dispose();
        setModel((old) => {
          old?.dispose();
          return m;
        });
        setModelError(undefined);
      },
      (err: unknown) => !cancelled && setModelError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      cancelled = true;
    };
  }, [serverUrl, taskId, version, model?.version]);

  const typed = splitTyped(text);
  const probabilities = useMemo(
    () => (model ? model.predict(encoder.contextOf(encoder.encode(typed.completed.join(' ')), context)) : undefined),
    [model, encoder, context, typed.completed.join(' ')],
  );
  const suggestions = probabilities ? suggestWords(probabilities, encoder.vocabulary, typed.partial) : [];

  const change = (next: string) => {
    setText(next);
    const done = splitTyped(next).completed;
    const fresh = newlyCompleted(completedRef.current, done);
    completedRef.current = done;
    if (fresh.length === 0) return;
    const ids = encoder.encode(done.join(' '));
    const rows: { x: Float32Array; y: number }[] = [];
    const newHits: number[] = [];
    for (const i of fresh) {
      if (ids[i] === UNK_ID || i === 0) continue;
      const x = encoder.contextOf(ids.slice(0, i), context);
      rows.push({ x, y: ids[i]! });
      // Words typed while the model loads are still kept for training; only their hit is unknown.
      if (model) newHits.push(suggestWords(model.predict(x), encoder.vocabulary).includes(done[i]!) ? 1 : 0);
    }
    if (newHits.length > 0) {
      const all = [...hits, ...newHits].slice(-KEPT);
      setHits(all);
      window.localStorage.setItem(keyboardStatsKey(taskId), JSON.stringify(all));
    }
    if (learn && rows.length > 0) {
      void onLearn(rows).then(() => setLearned((n) => n + rows.length));
    }
  };

  const accept = (word: string) => {
    change(acceptSuggestion(text, word));
    // A tap on a suggestion leaves the person typing on in the box, as Tab does.
    boxRef.current?.focus();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Tab' && !e.shiftKey && suggestions.length > 0) {
      e.preventDefault();
      accept(suggestions[0]!);
    }
  };
  const toggleLearn = (on: boolean) => {
    setLearn(on);
    window.localStorage.setItem(keyboardLearnKey(taskId), on ? 'yes' : 'no');
  };

  const total = hits.length;
  const right = hits.reduce((n, h) => n + h, 0);
  const blocks: number[] = [];
  for (let start = 0; start + BLOCK <= hits.length; start += BLOCK) blocks.push(hits.slice(start, start + BLOCK).reduce((n, h) => n + h, 0) / BLOCK);

  return (
    <div className="data-source keyboard" data-testid="keyboard">
      <h3>Type, and get next-word suggestions</h3>
      <label htmlFor="keyboard-text">Type here (Tab accepts the first suggestion)</label>
      <textarea
        id="keyboard-text"
        ref={boxRef}
        value={text}
        rows={4}
        onChange={(e) => change(e.target.value)}
        onKeyDown={onKeyDown}
        data-testid="keyboard-text"
        aria-describedby="keyboard-suggestions-label"
      />
      <div className="suggestions" role="group" aria-labelledby="keyboard-suggestions-label" data-testid="suggestions">
        <span id="keyboard-suggestions-label" className="muted small">
          {model ? 'Suggestions:' : modelError ? `Suggestions unavailable: ${modelError}` : 'Loading the model for suggestions…'}
        </span>
        {suggestions.map((word) => (
          <button key={word} type="button" className="suggestion" onClick={() => accept(word)} data-testid="suggestion">
            {word}
          </button>
        ))}
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={learn} onChange={(e) => toggleLearn(e.target.checked)} data-testid="keyboard-learn" /> Learn from what I type (each
        finished word is kept on this device as training data; the text itself is never sent)
      </label>
      <p className="muted small" aria-live="polite" data-testid="keyboard-learned">
        {learn ? `${learned} word${learned === 1 ? '' : 's'} kept for training in this visit.` : 'Not learning from what you type.'}
      </p>
      <p data-testid="keyboard-top3">
        {total === 0
          ? 'Top-3 accuracy of the suggestions on your text: no finished words yet.'
          : `Top-3 accuracy of the suggestions on your text: ${Math.round((right / total) * 100)}% (${right} of ${total} words).`}
      </p>
      {blocks.length > 1 && (
        <ol className="top3-history" aria-label={`Top-3 accuracy by ${BLOCK} words, oldest first`} data-testid="keyboard-top3-history">
          {blocks.slice(-20).map((share, i) => (
            <li key={i} title={`${Math.round(share * 100)}%`}>
              <span className="bar" style={{ height: `${Math.max(2, share * 40)}px` }} />
              <span className="sr-only">{Math.round(share * 100)}%</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
