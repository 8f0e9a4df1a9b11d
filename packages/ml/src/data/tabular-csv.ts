// CSV tables for tabular tasks. The operator's CSV defines the schema (columns, labels, scaling);
// a participant's CSV with the same columns becomes standardized examples. Browser-safe.
import { ChorusError } from '@chorus/core';
import type { DataSchema } from '@chorus/core';

/** RFC 4180 rows: comma-separated, double-quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field), (field = '');
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows.map((r) => r.map((f) => f.trim()));
}

export interface TabularSchemaOptions {
  /** The label column's name; @default the last column */
  readonly labelColumn?: string;
}

function table(text: string, what: string): { header: string[]; rows: string[][] } {
  const [header, ...rows] = parseCsv(text);
  if (!header || header.length < 2) throw new ChorusError('INVALID_CONFIG', `${what}: expected a header row with at least one feature column and a label column`);
  if (new Set(header).size !== header.length) throw new ChorusError('INVALID_CONFIG', `${what}: the header repeats a column name`);
  return { header, rows };
}

/**
 * The data schema a CSV defines: every column but the label is a numeric feature (standardized by
 * its mean and population standard deviation; a constant column gets std 1), and the label column's
 * distinct values, sorted, are the classes.
 */
export function tabularSchemaFromCsv(text: string, options: TabularSchemaOptions = {}): DataSchema {
  const { header, rows } = table(text, 'CSV');
  const labelColumn = options.labelColumn ?? header[header.length - 1]!;
  const labelAt = header.indexOf(labelColumn);
  if (labelAt < 0) throw new ChorusError('INVALID_CONFIG', `labelColumn: the CSV has no column "${labelColumn}"; columns: ${header.join(', ')}`);
  if (rows.length < 2) throw new ChorusError('INVALID_CONFIG', 'CSV: expected at least two data rows');
  const featureAt = header.map((_, i) => i).filter((i) => i !== labelAt);
  const sums = new Float64Array(featureAt.length);
  const squares = new Float64Array(featureAt.length);
  const labels = new Set<string>();
  rows.forEach((row, r) => {
    if (row.length !== header.length) throw new ChorusError('INVALID_CONFIG', `CSV row ${r + 2}: ${row.length} fields, the header has ${header.length}`);
    featureAt.forEach((col, j) => {
      const v = Number(row[col]);
      if (row[col] === '' || !Number.isFinite(v)) throw new ChorusError('INVALID_CONFIG', `CSV row ${r + 2}, column "${header[col]}": "${row[col]}" is not a number`);
      sums[j]! += v;
      squares[j]! += v * v;
    });
    if (row[labelAt] === '') throw new ChorusError('INVALID_CONFIG', `CSV row ${r + 2}: the label column "${labelColumn}" is empty`);
    labels.add(row[labelAt]!);
  });
  if (labels.size < 2) throw new ChorusError('INVALID_CONFIG', `labelColumn "${labelColumn}": expected at least two distinct labels, found ${labels.size}`);
  const n = rows.length;
  const mean = [...sums].map((s) => s / n);
  const std = [...squares].map((q, j) => {
    const sd = Math.sqrt(Math.max(0, q / n - mean[j]! ** 2));
    return sd > 1e-12 ? sd : 1;
  });
  return {
    kind: 'tabular',
    inputShape: [featureAt.length],
    numClasses: labels.size,
    labels: [...labels].sort(),
    features: { names: featureAt.map((i) => header[i]!), mean, std, labelColumn },
  };
}

export interface TabularExamples {
  /** One standardized Float32Array per row, in the schema's feature order. */
  readonly x: Float32Array[];
  /** Class index per row (position of its label in `data.labels`). */
  readonly y: number[];
  /** Rows left out, with why (unknown label, a non-numeric value). */
  readonly skipped: { row: number; reason: string }[];
}

/** A participant's CSV as examples for a tabular task; its columns may come in any order. */
export function tabularExamplesFromCsv(text: string, data: DataSchema): TabularExamples {
  const { features, labels } = data;
  if (!features || !labels) throw new ChorusError('INVALID_CONFIG', 'data: this task has no tabular features/labels in its data schema');
  const { header, rows } = table(text, 'CSV');
  const missing = [...features.names, features.labelColumn].filter((name) => !header.includes(name));
  if (missing.length > 0) throw new ChorusError('INVALID_CONFIG', `CSV: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`);
  const featureAt = features.names.map((name) => header.indexOf(name));
  const labelAt = header.indexOf(features.labelColumn);
  const x: Float32Array[] = [];
  const y: number[] = [];
  const skipped: { row: number; reason: string }[] = [];
  rows.forEach((row, r) => {
    const label = labels.indexOf(row[labelAt] ?? '');
    if (label < 0) return void skipped.push({ row: r + 2, reason: `unknown label "${row[labelAt] ?? ''}"` });
    const values = new Float32Array(featureAt.length);
    for (let j = 0; j < featureAt.length; j++) {
      const raw = row[featureAt[j]!] ?? '';
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v)) return void skipped.push({ row: r + 2, reason: `"${features.names[j]}" is not a number` });
      values[j] = (v - features.mean[j]!) / features.std[j]!;
    }
    x.push(values);
    y.push(label);
  });
  return { x, y, skipped };
}
