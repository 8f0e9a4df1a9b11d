import { describe, expect, it } from 'vitest';
import { ChorusError, type TaskConfig } from '@chorus/core';
import type { CreateTaskInput } from '../rounds/round-engine.js';
import type { StoredTask } from '../storage/storage.js';
import { createTaskService, type TaskSource } from './task-service.js';

const MODEL = { topology: { class_name: 'Sequential' }, layout: [{ name: 'w', shape: [2] }], weights: Float32Array.of(1, 2) };
const CONFIG = { id: 'new-task', name: 'New', data: { kind: 'tabular', inputShape: [2], numClasses: 2 }, strategy: { id: 'fedavg', options: {} } };

/** An engine that knows the ids given and records what it is asked to create and start. */
function fakeEngine(existing: string[] = []) {
  const created: CreateTaskInput[] = [];
  const started: string[] = [];
  const engine = {
    hasTask: (id: string) => existing.includes(id),
    async createTask(input: CreateTaskInput): Promise<StoredTask> {
      created.push(input);
      return { id: input.config.id, config: input.config, topology: input.topology, layout: input.layout, status: 'created', createdAt: 1, updatedAt: 1 };
    },
    async start(id: string) {
      started.push(id);
      return 'running' as const;
    },
  };
  return { engine, created, started };
}

function source(overrides: Partial<TaskSource> = {}): TaskSource & { builds: number } {
  const s = { builds: 0, config: CONFIG, ...overrides } as TaskSource & { builds: number };
  s.build ??= async () => {
    s.builds++;
    return MODEL;
  };
  return s;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'no error',
    (err: unknown) => `${ChorusError.from(err).code}: ${ChorusError.from(err).message}`,
  );
}

describe('task service', () => {
  it('parses the config once, stores the model built for it and starts the task when asked', async () => {
    const { engine, created, started } = fakeEngine();
    const task = await createTaskService(engine).create(source({ start: true }));
    expect(task.id).toBe('new-task');
    expect(created).toHaveLength(1);
    expect(created[0]!.config).toMatchObject({ id: 'new-task', codec: 'int8', rounds: { targetClients: expect.any(Number) } });
    expect([...created[0]!.weights]).toEqual([1, 2]);
    expect(started).toEqual(['new-task']);
  });

  it('refuses a taken id before anything is built', async () => {
    const { engine, created } = fakeEngine(['new-task']);
    const s = source();
    expect(await codeOf(createTaskService(engine).create(s))).toBe('INVALID_CONFIG: config.id: task "new-task" already exists');
    expect([s.builds, created.length]).toEqual([0, 0]);
  });

  it('refuses an invalid config, naming the option, and runs the source check before the build', async () => {
    const { engine } = fakeEngine();
    const bad = source({ config: { ...CONFIG, codec: 'int3' } });
    expect(await codeOf(createTaskService(engine).create(bad))).toMatch(/^INVALID_CONFIG: config\.codec/);
    const checked = source({
      check: (c: TaskConfig) => {
        throw new ChorusError('INVALID_CONFIG', `config.name: "${c.name}" is refused here`);
      },
    });
    expect(await codeOf(createTaskService(engine).create(checked))).toBe('INVALID_CONFIG: config.name: "New" is refused here');
    expect([bad.builds, checked.builds]).toEqual([0, 0]);
  });

  it('refuses an asynchronous task whose buffer is below the round quorum, before anything is built', async () => {
    const { engine, created } = fakeEngine();
    const s = source({ config: { ...CONFIG, mode: 'async', async: { bufferSize: 3 }, rounds: { targetClients: 10, minClients: 5 } } as never });
    expect(await codeOf(createTaskService(engine).create(s))).toMatch(/^INVALID_CONFIG: config\.async\.bufferSize: 3 is below rounds\.minClients \(5\)/);
    expect([s.builds, created.length]).toEqual([0, 0]);
  });

  it('takes the data schema the build refined (a template fills in its defaults)', async () => {
    const { engine, created } = fakeEngine();
    const data = { kind: 'tabular' as const, inputShape: [2], numClasses: 2, labels: ['a', 'b'] };
    await createTaskService(engine).create(source({ build: async () => ({ ...MODEL, data }) }));
    expect(created[0]!.config.data).toEqual(data);
    expect(created[0]).not.toHaveProperty('data');
  });

  it('takes the training options the build refined (a template\'s defaults under the request\'s own)', async () => {
    const { engine, created } = fakeEngine();
    const training = { localEpochs: 1, batchSize: 20, optimizer: 'sgd' as const, learningRate: 0.5, proxMu: 0, maxExamples: 300 };
    await createTaskService(engine).create(source({ build: async () => ({ ...MODEL, training }) }));
    expect(created[0]!.config.training).toEqual(training);
    expect(created[0]).not.toHaveProperty('training');
  });
});
