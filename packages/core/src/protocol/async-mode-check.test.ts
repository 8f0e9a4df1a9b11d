import { describe, expect, it } from 'vitest';
import { ChorusError } from '../errors/chorus-error.js';
import { checkAsyncMode } from './async-mode-check.js';
import { taskConfigSchema } from './task.js';

const config = (extra: Record<string, unknown>) =>
  taskConfigSchema.parse({
    id: 't',
    name: 't',
    data: { kind: 'image', inputShape: [1], numClasses: 2 },
    rounds: { targetClients: 10, minClients: 5 },
    ...extra,
  });

describe('checkAsyncMode', () => {
  it('refuses a buffer smaller than the round quorum, naming both options', () => {
    let error: unknown;
    try {
      checkAsyncMode(config({ mode: 'async', async: { bufferSize: 3 } }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChorusError);
    expect((error as ChorusError).code).toBe('INVALID_CONFIG');
    expect((error as ChorusError).message).toMatch(/async\.bufferSize: 3 is below rounds\.minClients \(5\)/);
  });

  it('accepts a buffer at least the quorum, the default buffer, and synchronous tasks', () => {
    expect(() => checkAsyncMode(config({ mode: 'async', async: { bufferSize: 5 } }))).not.toThrow();
    expect(() => checkAsyncMode(config({ mode: 'async' }))).not.toThrow();
    expect(() => checkAsyncMode(config({ async: { bufferSize: 1 } }))).not.toThrow();
  });
});
