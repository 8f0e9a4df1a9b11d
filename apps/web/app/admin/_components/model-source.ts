import type { DataSchema } from '@chorus/core';

/** Where a new task's model comes from: a template (a CSV for tabular-mlp) or the operator's own files. */
export interface ModelSource {
  readonly mode: 'template' | 'upload';
  /** tabular-mlp: the schema the chosen CSV defines. */
  readonly csvData?: DataSchema;
  /** upload: model.json contents and weights.bin as base64. */
  readonly modelJson?: Record<string, unknown>;
  readonly weights?: string;
  readonly kind: DataSchema['kind'];
  /** Comma-separated, e.g. "28, 28, 1" (blank = the model's own input shape). */
  readonly inputShape: string;
  readonly numClasses: number;
  /** Comma-separated class names (blank = none). */
  readonly labels: string;
}

export const DEFAULT_MODEL_SOURCE: ModelSource = { mode: 'template', kind: 'image', inputShape: '', numClasses: 10, labels: '' };

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The request creating the task, for the source chosen; `config` holds the form's other options. */
export function createTaskRequest(template: string, source: ModelSource, config: Record<string, unknown>, start: boolean): { path: string; body: unknown } {
  if (source.mode === 'upload') {
    if (!source.modelJson || !source.weights) throw new Error('Choose both files: model.json and weights.bin.');
    const labels = list(source.labels);
    const inputShape = list(source.inputShape).map(Number);
    const data = { kind: source.kind, numClasses: source.numClasses, ...(labels.length ? { labels } : {}), ...(inputShape.length ? { inputShape } : {}) };
    return { path: '/api/admin/tasks/upload', body: { modelJson: source.modelJson, weights: source.weights, config: { ...config, data }, start } };
  }
  if (template === 'tabular-mlp') {
    if (!source.csvData) throw new Error('Choose a CSV file: its columns define the task’s features and labels.');
    return { path: '/api/tasks', body: { template, start, config: { ...config, data: source.csvData } } };
  }
  return { path: '/api/tasks', body: { template, start, config } };
}

export async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
