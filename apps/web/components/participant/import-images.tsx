'use client';

import { useState } from 'react';
import { toMnistPixels } from '../../lib/digit-pixels.js';
import { LabelPicker } from './label-picker.js';

/** Import photos or scans of one digit each; they are converted here and stay on this device. */
export function ImportImages({ onAdd }: { readonly onAdd: (pixels: Float32Array[], label: number) => Promise<void> }) {
  const [files, setFiles] = useState<File[]>([]);
  const [label, setLabel] = useState<number | undefined>();
  const [message, setMessage] = useState('');

  const add = async () => {
    if (label === undefined || files.length === 0) return;
    const examples: Float32Array[] = [];
    let skipped = 0;
    for (const file of files) {
      try {
        const bitmap = await createImageBitmap(file);
        const pixels = toMnistPixels(bitmap);
        bitmap.close();
        if (pixels) examples.push(pixels);
        else skipped++;
      } catch {
        skipped++;
      }
    }
    if (examples.length > 0) await onAdd(examples, label);
    setMessage(`Kept ${examples.length} image${examples.length === 1 ? '' : 's'} labelled ${label}${skipped ? `; ${skipped} could not be read` : ''}.`);
    setFiles([]);
  };

  return (
    <div className="data-source" data-testid="import-images">
      <h3>Import images</h3>
      <p className="muted small">One digit per image. Photos of ink on paper work; they are shrunk to 28×28 grey pixels.</p>
      <label className="file-field">
        Images of handwritten digits
        <input type="file" accept="image/*" multiple onChange={(e) => setFiles([...(e.target.files ?? [])])} data-testid="import-files" />
      </label>
      <LabelPicker name="import-label" value={label} onChange={setLabel} />
      <button type="button" onClick={() => void add()} disabled={files.length === 0 || label === undefined} data-testid="import-add">
        Keep {files.length || ''} image{files.length === 1 ? '' : 's'}
      </button>
      <p className="muted small" aria-live="polite">{message}</p>
    </div>
  );
}
