'use client';

import { useState } from 'react';
import type { DataSchema } from '@chorus/core';
import { tabularExamplesFromCsv } from '@chorus/ml/data';

/** Import rows of a CSV with the task's columns; they are standardized here and stay on this device. */
export function ImportCsv({ data, onAdd }: { readonly data: DataSchema; readonly onAdd: (rows: { x: Float32Array; y: number }[]) => Promise<void> }) {
  const [message, setMessage] = useState('');
  const columns = data.features ? [...data.features.names, data.features.labelColumn] : [];

  const pick = async (file: File | undefined) => {
    if (!file) return;
    try {
      const { x, y, skipped } = tabularExamplesFromCsv(await file.text(), data);
      if (x.length > 0) await onAdd(x.map((row, i) => ({ x: row, y: y[i]! })));
      const why = skipped.slice(0, 3).map((s) => `row ${s.row}: ${s.reason}`).join('; ');
      setMessage(`Kept ${x.length} row${x.length === 1 ? '' : 's'}${skipped.length ? `; left out ${skipped.length} (${why}${skipped.length > 3 ? '; …' : ''})` : ''}.`);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };

  return (
    <div className="data-source" data-testid="import-csv">
      <h3>Import a CSV file</h3>
      <p className="muted small">Columns: {columns.join(', ')} (header row first; labels: {data.labels?.join(', ')}).</p>
      <input type="file" accept=".csv,text/csv" onChange={(e) => void pick(e.target.files?.[0])} data-testid="csv-import-file" />
      <p className="muted small" aria-live="polite" data-testid="csv-import-message">{message}</p>
    </div>
  );
}
