'use client';

import { useState } from 'react';
import type { DataSchema } from '@chorus/core';
import { createVectorizer, emailText } from '@chorus/ml/data';

/** Paste an email and say whether it is spam; only its bag-of-words vector is stored, on this device. */
export function AddEmail({ data, onAdd }: { readonly data: DataSchema; readonly onAdd: (rows: { x: Float32Array; y: number }[]) => Promise<void> }) {
  const [text, setText] = useState('');
  const [message, setMessage] = useState('');
  const labels = data.labels ?? ['ham', 'spam'];

  const add = async (label: number) => {
    if (!data.vocabulary) return setMessage('This task has no vocabulary: ask its operator.');
    const x = createVectorizer(data.vocabulary)(emailText(text));
    const known = x.reduce((n, v) => n + v, 0);
    await onAdd([{ x, y: label }]);
    setMessage(`Kept one email labelled ${labels[label]} (${known} known word${known === 1 ? '' : 's'}).`);
    setText('');
  };

  return (
    <div className="data-source" data-testid="add-email">
      <h3>Add an email</h3>
      <textarea value={text} rows={6} placeholder="Paste the subject and text of an email" onChange={(e) => setText(e.target.value)} data-testid="email-text" />
      {labels.map((name, i) => (
        <button key={name} type="button" disabled={text.trim() === ''} onClick={() => void add(i)} data-testid={`email-add-${name}`}>
          It is {name}
        </button>
      ))}
      <p className="muted small" aria-live="polite" data-testid="email-message">{message}</p>
    </div>
  );
}
