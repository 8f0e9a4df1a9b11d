import { describe, expect, it } from 'vitest';
import { ChorusError, ERROR_CODES, decodePayload, encodePayload, type Ack, type FlatWeights, type RoundInvite } from '@chorus/core';
import { FakeSocket } from './fake-socket.test-helper.js';
import { createParticipantSession, type ParticipantSessionOptions } from './participant-session.js';
import { createMemoryPersonalLayerStore } from './personal-layer-store.js';
import type { RoundTrainer } from './round-runner.js';
import type { SecureComputation } from './secure-computation.js';
import type { FetchLike } from './weights-download.js';

const TASK = 'mnist-demo';
const global: FlatWeights = {
  layout: [
    { name: 'dense/kernel', shape: [4, 3] },
    { name: 'dense/bias', shape: [3] },
  ],
  values: Float32Array.from({ length: 15 }, (_, i) => i / 10),
};
const globalBytes = encodePayload(global, 'float32');

const joinResponse = (participantId: string) => ({
  participantId,
  task: {
    id: TASK,
    name: 'MNIST',
    description: '',
    status: 'running',
    data: { kind: 'image' as const, inputShape: [28, 28, 1], numClasses: 10 },
    training: { localEpochs: 1, batchSize: 10, optimizer: 'sgd' as const, learningRate: 0.1, proxMu: 0, maxExamples: 0 },
    codec: 'float32' as const,
    modelPath: `/api/tasks/${TASK}/versions/latest/model.json`,
  },
  latestVersion: 3,
  maxChunkBytes: 1_000_000,
});

const invite = (roundId = 'r-1'): RoundInvite => ({
  taskId: TASK,
  roundId,
  round: 4,
  version: 3,
  deadline: Date.now() + 60_000,
  training: { localEpochs: 1, batchSize: 10, optimizer: 'sgd', learningRate: 0.1, proxMu: 0, maxExamples: 0, overrides: {} },
  codec: 'float32',
});

/** A fake server that accepts everything, with 24-byte chunks, and records the chunks it got. */
function happyServer(overrides: Partial<Record<string, (payload: any) => Ack<unknown>>> = {}) {
  const chunks: { seq: number; data: Uint8Array }[] = [];
  const socket = new FakeSocket((event, payload) => {
    const custom = overrides[event];
    if (custom) return custom(payload);
    switch (event) {
      case 'join':
        return { ok: true, data: joinResponse(payload.participantId ?? 'p-42') };
      case 'update:begin':
        return { ok: true, data: { uploadId: `u-${chunks.length}`, maxChunkBytes: 24 } };
      case 'update:chunk':
        chunks.push({ seq: payload.seq, data: payload.data });
        return { ok: true, data: { received: payload.data.byteLength } };
      case 'update:end':
        return { ok: true, data: { accepted: true } };
      case 'round:decline':
        return { ok: true, data: { ok: true } };
      default:
        return undefined;
    }
  });
  return { socket, chunks };
}

const fetchGlobal: FetchLike = async () =>
  new Response(globalBytes.slice(), { status: 200, headers: { 'content-length': String(globalBytes.byteLength) } });

const halfDelta: RoundTrainer = {
  async train(_invite, weights) {
    return { delta: new Float32Array(weights.values.length).fill(0.5), numExamples: 20, metrics: { loss: 0.25, accuracy: 0.9 } };
  },
};

function sessionWith(socket: FakeSocket, extra: Partial<ParticipantSessionOptions> = {}) {
  return createParticipantSession({
    serverUrl: 'http://chorus.test',
    taskId: TASK,
    capabilities: { backend: 'wasm', numExamples: 20 },
    trainer: halfDelta,
    socketFactory: () => socket,
    fetch: fetchGlobal,
    ackTimeoutMs: 1_000,
    ...extra,
  });
}

function nextEvent<T>(subscribe: (listener: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolve) => {
    const off = subscribe((value) => {
      off();
      resolve(value);
    });
  });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 2));
  expect(condition()).toBe(true);
}

describe('participant session', () => {
  it('joins, trains on the invite, uploads the encoded delta in ordered chunks and reports the receipt', async () => {
    // Prepare
    const { socket, chunks } = happyServer();
    const session = sessionWith(socket);
    const phases: string[] = [];
    session.on('progress', (p) => {
      if (phases.at(-1) !== p.phase) phases.push(p.phase);
    });

    // Execute
    const joined = await session.start();
    const receipt = nextEvent<{ roundId: string; receipt: { accepted: boolean }; bytes: number }>((l) => session.on('receipt', l));
    socket.fire('round:invite', invite());
    const got = await receipt;

    // Assert
    expect(joined.participantId).toBe('p-42');
    expect(socket.eventsNamed('join')[0]).toMatchObject({ protocolVersion: 1, taskId: TASK, capabilities: { backend: 'wasm', numExamples: 20 } });
    const begin = socket.eventsNamed('update:begin')[0];
    expect(begin).toMatchObject({ taskId: TASK, roundId: 'r-1', version: 3, numExamples: 20, metrics: { loss: 0.25, accuracy: 0.9 } });
    expect(chunks.map((c) => c.seq)).toEqual([...Array(chunks.length).keys()]);
    expect(chunks.every((c) => c.data.byteLength <= 24)).toBe(true);
    const uploaded = new Uint8Array(chunks.reduce((n, c) => n + c.data.byteLength, 0));
    chunks.reduce((offset, c) => (uploaded.set(c.data, offset), offset + c.data.byteLength), 0);
    expect(uploaded.byteLength).toBe(begin.byteLength);
    expect(Array.from(decodePayload(uploaded).values)).toEqual(new Array(15).fill(0.5));
    expect(got).toMatchObject({ roundId: 'r-1', receipt: { accepted: true }, bytes: uploaded.byteLength });
    expect(session.stats).toEqual({ bytesUp: uploaded.byteLength, bytesDown: globalBytes.byteLength, roundsJoined: 1, roundsCompleted: 1, roundsFailed: 0, fullDownloads: 1, deltaDownloads: 0, nearDownloads: 0, seededModels: 0, driftFallbacks: 0 });
    expect(phases).toEqual(['download', 'train', 'upload']);
    await session.close();
  });

  it('aborts local training when the server cancels the round, and uploads nothing', async () => {
    // Prepare
    const { socket } = happyServer();
    let seenSignal: AbortSignal | undefined;
    const slowTrainer: RoundTrainer = {
      train: (_i, _g, signal) =>
        new Promise((_, reject) => {
          seenSignal = signal;
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
    };
    const session = sessionWith(socket, { trainer: slowTrainer });
    await session.start();
    socket.fire('round:invite', invite('r-7'));
    await until(() => seenSignal !== undefined);
    const failed = nextEvent<{ error: ChorusError }>((l) => session.on('roundFailed', l));

    // Execute
    socket.fire('round:cancel', { taskId: TASK, roundId: 'r-7', reason: 'quorum reached' });
    const { error } = await failed;

    // Assert
    expect(seenSignal?.aborted).toBe(true);
    expect(error).toBeInstanceOf(ChorusError);
    expect(error.code).toBe('ROUND_CLOSED');
    expect(error.message).toContain('quorum reached');
    expect(socket.eventsNamed('update:begin')).toEqual([]);
    expect(session.status).toBe('joined');
    await session.close();
  });

  it('stops at once when the server answers its update:begin that the round is over: no chunk sent, no retry', async () => {
    // Prepare: the server held this over-selected participant's begin until the round had its updates.
    const { socket, chunks } = happyServer({
      'update:begin': () => ({ ok: false, error: { code: 'ROUND_CLOSED', message: 'round "r-9" is over: the round has enough updates', retryable: true } }),
    });
    const session = sessionWith(socket);
    await session.start();
    const failed = nextEvent<{ error: ChorusError }>((l) => session.on('roundFailed', l));

    // Execute
    socket.fire('round:invite', invite('r-9'));
    const { error } = await failed;

    // Assert
    expect(error.code).toBe('ROUND_CLOSED');
    expect(socket.eventsNamed('update:begin')).toHaveLength(1);
    expect(chunks).toEqual([]);
    expect(session.stats.bytesUp).toBe(0);
    await session.close();
  });

  it('re-joins after a reconnect with the participant id the server gave it', async () => {
    // Prepare
    const { socket } = happyServer();
    const session = sessionWith(socket);
    await session.start();

    // Execute
    const rejoined = nextEvent((l) => session.on('joined', l));
    socket.reconnect();
    await rejoined;

    // Assert
    const joins = socket.eventsNamed('join');
    expect(joins.map((j) => j.participantId)).toEqual([undefined, 'p-42']);
    expect(session.participantId).toBe('p-42');
    await session.close();
    expect(socket.listenerCount()).toBe(0);
    expect(session.status).toBe('closed');
  });

  it('presents the signed token the server issued on every re-join', async () => {
    // Prepare
    const { socket } = happyServer({
      join: (payload) => ({ ok: true, data: { ...joinResponse(payload.participantId ?? 'p-42'), token: 'signed-for-p-42' } }),
    });
    const session = sessionWith(socket);
    await session.start();

    // Execute
    const rejoined = nextEvent((l) => session.on('joined', l));
    socket.reconnect();
    await rejoined;

    // Assert
    expect(socket.eventsNamed('join').map((j) => [j.participantId, j.token])).toEqual([
      [undefined, undefined],
      ['p-42', 'signed-for-p-42'],
    ]);
    await session.close();
  });

  it('drops an identity whose token the server refuses and joins as a new participant', async () => {
    // Prepare: the stored token was spent by a copy, so the server refuses it
    const { socket } = happyServer({
      join: (payload) =>
        payload.token
          ? { ok: false, error: new ChorusError('UNAUTHORIZED', 'token: already used (a copy was replayed)').toWire() }
          : { ok: true, data: { ...joinResponse('p-new'), token: 'signed-for-p-new' } },
    });
    const session = sessionWith(socket, { participantId: 'p-old', token: 'spent-token' });

    // Execute
    const joined = await session.start();

    // Assert
    expect(joined.participantId).toBe('p-new');
    expect(socket.eventsNamed('join').map((j) => [j.participantId, j.token])).toEqual([
      ['p-old', 'spent-token'],
      [undefined, undefined],
    ]);
    await session.close();
  });

  it('finishes a round across a reconnect: waits for the re-join, then uploads', async () => {
    // Prepare: training is held until the test has dropped and restored the connection.
    const { socket } = happyServer();
    let release: () => void = () => undefined;
    const gated: RoundTrainer = {
      async train(invite, weights, signal) {
        await new Promise<void>((r) => (release = r));
        return halfDelta.train(invite, weights, signal);
      },
    };
    const session = sessionWith(socket, { trainer: gated });
    await session.start();
    socket.fire('round:invite', invite('r-3'));
    await until(() => session.status === 'training');

    // Execute
    socket.connected = false;
    socket.fire('disconnect', 'transport close');
    const receipt = nextEvent<{ roundId: string }>((l) => session.on('receipt', l));
    release();
    await new Promise((r) => setTimeout(r, 20));
    const beginsWhileOffline = socket.eventsNamed('update:begin').length;
    socket.connect();
    const got = await receipt;

    // Assert
    expect(beginsWhileOffline).toBe(0);
    expect(got.roundId).toBe('r-3');
    const order = socket.sent.map((s) => s.event).filter((e) => e === 'join' || e === 'update:begin');
    expect(order).toEqual(['join', 'join', 'update:begin']);
    expect(socket.eventsNamed('join')[1].participantId).toBe('p-42');
    await session.close();
  });

  it('turns an error acknowledgement into the server ChorusError', async () => {
    // Prepare
    const { socket } = happyServer({
      join: () => ({ ok: false, error: { code: 'UNSUPPORTED_PROTOCOL', message: 'protocol 1 is not supported', retryable: false } }),
    });
    const session = sessionWith(socket);

    // Execute
    const result = await session.start().then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assert
    expect(result).toBeInstanceOf(ChorusError);
    expect((result as ChorusError).code).toBe('UNSUPPORTED_PROTOCOL');
    expect((result as ChorusError).message).toBe('protocol 1 is not supported');
    await session.close();
  });

  it('retries an upload after a retryable error but not after ROUND_CLOSED', async () => {
    // Prepare: the first chunk fails once with INTERNAL; update:end of the second round says closed.
    let chunkFailures = 1;
    let endCalls = 0;
    const { socket } = happyServer({
      'update:chunk': (p) =>
        chunkFailures-- > 0
          ? { ok: false, error: { code: 'INTERNAL', message: 'disk hiccup', retryable: true } }
          : { ok: true, data: { received: p.data.byteLength } },
      'update:end': () =>
        ++endCalls === 1
          ? { ok: true, data: { accepted: true } }
          : { ok: false, error: { code: 'ROUND_CLOSED', message: 'round r-2 is closed', retryable: true } },
    });
    const session = sessionWith(socket);
    await session.start();

    // Execute
    const receipt = nextEvent((l) => session.on('receipt', l));
    socket.fire('round:invite', invite('r-1'));
    await receipt;
    const failed = nextEvent<{ error: ChorusError }>((l) => session.on('roundFailed', l));
    socket.fire('round:invite', invite('r-2'));
    const { error } = await failed;

    // Assert
    expect(socket.eventsNamed('update:begin').map((b) => b.roundId)).toEqual(['r-1', 'r-1', 'r-2']);
    expect(error.code).toBe('ROUND_CLOSED');
    expect(session.stats.roundsCompleted).toBe(1);
    expect(session.stats.roundsFailed).toBe(1);
    await session.close();
  });

  it('retries an upload exactly when core says the code is retryable and the round is not over', async () => {
    for (const code of Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[]) {
      // Prepare: update:end refuses once with this code, then accepts.
      let refused = false;
      const { socket } = happyServer({
        'update:end': () => {
          if (refused) return { ok: true, data: { accepted: true } };
          refused = true;
          return { ok: false, error: new ChorusError(code, `refused with ${code}`).toWire() };
        },
      });
      const session = sessionWith(socket);
      session.on('error', () => undefined);
      await session.start();

      // Execute
      const done = Promise.race([nextEvent((l) => session.on('receipt', l)), nextEvent((l) => session.on('roundFailed', l))]);
      socket.fire('round:invite', invite('r-1'));
      await done;

      // Assert
      const policy = ERROR_CODES[code];
      expect(socket.eventsNamed('update:begin').length, code).toBe(policy.retryable && !policy.roundOver ? 2 : 1);
      await session.close();
    }
  });

  it('retries a download that failed with HTTP 503 and declines the round when it cannot get the model', async () => {
    // Prepare
    let calls = 0;
    const flaky: FetchLike = async (url) => {
      calls++;
      if (url.includes('/versions/3/')) return new Response('busy', { status: 503 });
      return fetchGlobal(url);
    };
    const { socket } = happyServer();
    const session = sessionWith(socket, { fetch: flaky, retryAttempts: 2 });
    await session.start();

    // Execute
    const failed = nextEvent<{ error: ChorusError }>((l) => session.on('roundFailed', l));
    socket.fire('round:invite', invite('r-9'));
    const { error } = await failed;
    await new Promise((r) => setTimeout(r, 5));

    // Assert
    expect(calls).toBe(2);
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('HTTP 503');
    expect(socket.eventsNamed('round:decline')).toEqual([{ taskId: TASK, roundId: 'r-9', reason: error.message }]);
    await session.close();
  });

  it('a secure round runs in the trainer\'s own secure computation: the update never comes back to the session, and the receipt says so', async () => {
    // Prepare: a trainer that keeps its update (as the worker does) and records what its computation is asked
    const calls: string[] = [];
    const secure: SecureComputation = {
      begin: async (roundId, _setup, id) => (calls.push(`begin ${roundId} ${id}`), { id, maskPublicKey: new Uint8Array(32), sharePublicKey: new Uint8Array(32), seedCommitment: new Uint8Array(32) }),
      share: async () => (calls.push('share'), { id: 2, shares: [] }),
      mask: async (_r, _s, update, n) => (calls.push(`mask ${update === undefined ? 'kept update' : 'update from the session'} ${n}`), { id: 2, masked: new Uint8Array(60) }),
      unmask: async () => (calls.push('unmask'), { id: 2, seedShares: [], keyShares: [] }),
      end: async () => void calls.push('end'),
    };
    const keeping: RoundTrainer = { secure, train: async (_i, _g, _s, _p, _personal, keep) => ({ delta: new Float32Array(0), kept: keep !== undefined, numExamples: 9, metrics: {} }) };
    const { socket } = happyServer({ 'secagg:message': () => ({ ok: true, data: { ok: true } }) });
    const session = sessionWith(socket, { trainer: keeping, maxChunkBytes: 25 });
    await session.start();
    const receipt = nextEvent<{ receipt: { accepted: boolean; note?: string; secureAggregation?: { participants: number } } }>((l) => session.on('receipt', l));
    // Execute: the invitation, then the server's stage messages
    socket.fire('round:invite', { ...invite(), secureAggregation: { id: 2, setup: { participants: 5 } } });
    await until(() => calls.includes('begin r-1 2'));
    const next = (event: string, payload: unknown) => socket.fire('secagg:next', { taskId: TASK, roundId: 'r-1', event, payload });
    next('secagg:keys', { keys: [] });
    next('secagg:shares', { shares: [] });
    const got = await receipt;
    next('secagg:unmask', { survivors: [], dropped: [] });
    await until(() => calls.includes('end'));
    // Assert: the kept update was masked in the trainer, sent as ordered parts of ≤ 25 bytes, never as an upload
    expect(calls).toEqual(['begin r-1 2', 'share', 'mask kept update 9', 'unmask', 'end']);
    const parts = socket.eventsNamed('secagg:message').filter((m) => m.stage === 'mask');
    expect(parts.map((m) => [m.chunk.index, m.chunk.count, m.chunk.byteLength, m.message.masked.byteLength])).toEqual([
      [0, 3, 60, 25],
      [1, 3, 60, 25],
      [2, 3, 60, 10],
    ]);
    expect(socket.eventsNamed('update:begin')).toEqual([]);
    expect(got.receipt).toMatchObject({ accepted: true, secureAggregation: { participants: 5 } });
    expect(got.receipt.note).toMatch(/^Securely aggregated: the server sees only the sum of the 5 participants' updates/);
    await session.close();
  });

  it('a secure round cancelled while waiting for the neighbours\' shares fails at once instead of waiting forever', async () => {
    // Prepare: the in-process computation would need real keys: the trainer's records the calls instead
    const calls: string[] = [];
    const secure: SecureComputation = {
      begin: async (_r, _s, id) => ({ id, maskPublicKey: new Uint8Array(32), sharePublicKey: new Uint8Array(32), seedCommitment: new Uint8Array(32) }),
      share: async () => ({ id: 2, shares: [] }),
      mask: async () => (calls.push('mask'), { id: 2, masked: new Uint8Array(4) }),
      unmask: async () => ({ id: 2, seedShares: [], keyShares: [] }),
      end: async () => void calls.push('end'),
    };
    const trainer: RoundTrainer = { secure, train: async () => ({ delta: new Float32Array(0), kept: true, numExamples: 9, metrics: {} }) };
    const { socket } = happyServer({ 'secagg:message': () => ({ ok: true, data: { ok: true } }) });
    const session = sessionWith(socket, { trainer });
    await session.start();
    const failed = nextEvent<{ roundId: string; error: ChorusError }>((l) => session.on('roundFailed', l));
    // Execute: trained, then the server cancels before the shares stage closed
    socket.fire('round:invite', { ...invite('r-9'), secureAggregation: { id: 2, setup: { participants: 3 } } });
    await until(() => session.status === 'uploading');
    socket.fire('round:cancel', { taskId: TASK, roundId: 'r-9', reason: 'task paused' });
    // Assert: the round failed as closed; nothing was masked; the computation forgot the round
    expect((await failed).error.code).toBe('ROUND_CLOSED');
    expect(calls).toEqual(['end']);
    await session.close();
  });

  describe('a personalized task', () => {
    const personalization = { method: 'fedper' as const, personalLayers: ['output'], headEpochs: 1, lambda: 1, chooseByValidation: true, holdoutFraction: 0.2 };
    const head = { layout: [{ name: 'output/bias', shape: [2] }], values: Float32Array.from([0.5, -0.5]) };
    const figures = { holdoutSharedAccuracy: 0.5, holdoutPersonalAccuracy: 0.75, personalGainPp: 25, ownModelChosen: 1 };
    const personalTrainer: RoundTrainer = {
      async train(_invite, weights) {
        return { delta: new Float32Array(weights.values.length).fill(0.5), numExamples: 20, metrics: { loss: 0.25, holdoutExamples: 5, ...figures }, personal: head };
      },
    };
    const joinWith = (task: Record<string, unknown>) => (payload: { participantId?: string }) => {
      const r = joinResponse(payload.participantId ?? 'p-42');
      return { ok: true as const, data: { ...r, task: { ...r.task, personalization, ...task } } };
    };

    it.each([
      ['central DP', { privacy: { central: { noiseMultiplier: 1, targetDelta: 1e-5 } } }],
      ['local DP', { privacy: { localDp: { clipNorm: 1, noiseMultiplier: 0.1 } } }],
    ])('with %s the update goes without the held-out figures; the page still gets them from the receipt event', async (_name, task) => {
      // Prepare
      const { socket } = happyServer({ join: joinWith(task) });
      const session = sessionWith(socket, { trainer: personalTrainer });
      await session.start();
      const receipt = nextEvent<{ metrics: Record<string, number> }>((l) => session.on('receipt', l));
      // Execute
      socket.fire('round:invite', invite());
      const got = await receipt;
      // Assert: nothing noises these figures, so under DP they do not leave the device
      expect(socket.eventsNamed('update:begin')[0].metrics).toEqual({ loss: 0.25, holdoutExamples: 5 });
      expect(got.metrics).toEqual({ loss: 0.25, holdoutExamples: 5, ...figures });
      await session.close();
    });

    it('without DP the update carries them (the server publishes them only as aggregates over 3 or more)', async () => {
      const { socket } = happyServer({ join: joinWith({}) });
      const session = sessionWith(socket, { trainer: personalTrainer });
      await session.start();
      const receipt = nextEvent((l) => session.on('receipt', l));
      socket.fire('round:invite', invite());
      await receipt;
      expect(socket.eventsNamed('update:begin')[0].metrics).toEqual({ loss: 0.25, holdoutExamples: 5, ...figures });
      await session.close();
    });

    it('a secure round whose trainer keeps the update still stores the personal layers it returns', async () => {
      // Prepare: a trainer that keeps its update for its own secure computation, as the browser's worker does
      const secure: SecureComputation = {
        begin: async (_r, _s, id) => ({ id, maskPublicKey: new Uint8Array(32), sharePublicKey: new Uint8Array(32), seedCommitment: new Uint8Array(32) }),
        share: async () => ({ id: 2, shares: [] }),
        mask: async () => ({ id: 2, masked: new Uint8Array(8) }),
        unmask: async () => ({ id: 2, seedShares: [], keyShares: [] }),
        end: async () => {},
      };
      const trainedWith: unknown[] = [];
      const keeping: RoundTrainer = {
        secure,
        train: async (_i, _g, _s, _p, personal, keep) => (trainedWith.push(personal?.values), { delta: new Float32Array(0), kept: keep !== undefined, numExamples: 9, metrics: {}, personal: head }),
      };
      const personalStore = createMemoryPersonalLayerStore();
      const { socket } = happyServer({ join: joinWith({}), 'secagg:message': () => ({ ok: true, data: { ok: true } }) });
      const session = sessionWith(socket, { trainer: keeping, personalStore });
      await session.start();
      const receipt = nextEvent((l) => session.on('receipt', l));
      // Execute
      socket.fire('round:invite', { ...invite(), secureAggregation: { id: 2, setup: { participants: 3 } } });
      await until(() => session.status === 'uploading');
      const next = (event: string, payload: unknown) => socket.fire('secagg:next', { taskId: TASK, roundId: 'r-1', event, payload });
      next('secagg:keys', { keys: [] });
      next('secagg:shares', { shares: [] });
      await receipt;
      // Assert: the first round started without personal layers; the kept round's head is stored
      expect(trainedWith).toEqual([undefined]);
      const stored = await personalStore.get(TASK);
      expect(stored?.layout).toEqual(head.layout);
      expect([...stored!.values]).toEqual([0.5, -0.5]);
      await session.close();
    });
  });
});
