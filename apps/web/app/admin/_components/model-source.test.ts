import { describe, expect, it } from 'vitest';
import { createTaskRequest, DEFAULT_MODEL_SOURCE } from './model-source.js';

const CONFIG = { id: 't', name: 'T' };

describe('createTaskRequest', () => {
  it('posts an upload with the data-schema fields parsed from the form', () => {
    const source = { ...DEFAULT_MODEL_SOURCE, mode: 'upload' as const, modelJson: { format: 'layers-model' }, weights: 'AAAA', kind: 'tabular' as const, inputShape: '4', numClasses: 3, labels: 'a, b ,c' };

    expect(createTaskRequest('mnist-2nn', source, CONFIG, true)).toEqual({
      path: '/api/admin/tasks/upload',
      body: { modelJson: { format: 'layers-model' }, weights: 'AAAA', start: true, config: { id: 't', name: 'T', data: { kind: 'tabular', numClasses: 3, labels: ['a', 'b', 'c'], inputShape: [4] } } },
    });
  });

  it('asks for both files, and for a CSV for tabular-mlp', () => {
    expect(() => createTaskRequest('mnist-2nn', { ...DEFAULT_MODEL_SOURCE, mode: 'upload', weights: 'AAAA' }, CONFIG, false)).toThrow('Choose both files');
    expect(() => createTaskRequest('tabular-mlp', DEFAULT_MODEL_SOURCE, CONFIG, false)).toThrow('Choose a CSV file');
  });

  it('sends the CSV schema as the data of a tabular-mlp task, and nothing extra for other templates', () => {
    const csvData = { kind: 'tabular' as const, inputShape: [2], numClasses: 2 };

    expect(createTaskRequest('tabular-mlp', { ...DEFAULT_MODEL_SOURCE, csvData }, CONFIG, false)).toEqual({ path: '/api/tasks', body: { template: 'tabular-mlp', start: false, config: { ...CONFIG, data: csvData } } });
    expect(createTaskRequest('spam-bow', DEFAULT_MODEL_SOURCE, CONFIG, false)).toEqual({ path: '/api/tasks', body: { template: 'spam-bow', start: false, config: CONFIG } });
  });
});
