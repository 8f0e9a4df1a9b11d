'use client';

import { useEffect, useRef, useState } from 'react';
import { io } from 'socket.io-client';
import { createBrowserParticipant, type BrowserParticipant, type ParticipantState } from '@chorus/client';
import { findExampleProblem, type EmbedPhase, type StatusEvent, type VisitLimits } from '@chorus/embed';
import type { EmbedTask } from './embed-check.js';
import { openParentChannel, type CallHandler } from './parent-channel.js';
import { loadDemoShard } from '../../../lib/demo-shard.js';
import { nextWordExamplesOf } from '../../../lib/next-word-examples.js';
import { nextWordSuggestionsOf } from '../../../lib/next-word-suggest.js';
import { loadSuggestionModel, type SuggestionModel } from '../../../components/participant/keyboard-model.js';

export interface EmbedSetup {
  readonly serverUrl: string;
  readonly taskId: string;
  readonly partnerKey: string;
  readonly parentOrigin: string;
  readonly task: EmbedTask;
  readonly limits: VisitLimits;
  /** Where the visit keeps its data: IndexedDB, or memory where the browser blocks the frame's storage. */
  readonly storage: 'indexeddb' | 'memory';
}

/** What the frame itself adds on top of the participant's own state. */
interface FrameFlags {
  partnerPaused: boolean;
  done: boolean;
  forgotten: boolean;
  /** A start-up step failed (demo data, storage): what the visitor is told. */
  startError: string | null;
}

export function describeStatus(state: ParticipantState | undefined, flags: FrameFlags, dutyCycle = 1): StatusEvent {
  const base = { rounds: state?.contributions.roundsJoined ?? 0, examples: state?.examples.total ?? 0 };
  const say = (phase: EmbedPhase, text: string): StatusEvent => ({ phase, text, ...base });
  if (flags.forgotten) return say('stopped', 'Stopped. Everything Chorus stored in this browser was deleted.');
  if (flags.done) return say('done', 'Thank you! This visit’s training time is used up.');
  if (flags.startError) return say('failed', `Could not start: ${flags.startError}`);
  if (!state) return say('connecting', 'Starting…');
  if (state.pauseReasons.includes('tab-hidden')) return say('paused', 'Paused while this tab is in the background.');
  if (state.pauseReasons.length > 0) return say('paused', 'Paused.');
  switch (state.phase) {
    case 'idle':
    case 'connecting':
    case 'waiting-for-tab':
      if (state.phase === 'waiting-for-tab') return say('connecting', 'Another tab of this browser is contributing.');
      // Never a silent "Connecting…": a slow or failing step says what it is.
      return say('connecting', state.lastError ? `Still connecting: ${state.lastError.message}` : 'Connecting to Chorus…');
    case 'preparing':
      return say('connecting', 'Getting the model ready…');
    case 'running':
      // An asynchronous task has no rounds: the browser is asked for its next update on the newest model.
      if (!['downloading', 'training', 'uploading'].includes(state.sessionStatus)) return say('waiting', state.task?.mode === 'async' ? 'Ready to train the next update.' : 'Waiting for the next round.');
      return say('training', dutyCycle < 1 ? `Training on this device, resting after each step so it uses at most ${Math.round(dutyCycle * 100)} % of the processor…` : 'Training on this device…');
    case 'paused':
      return say('paused', 'Paused.');
    case 'stopped':
      return say('stopped', 'Stopped.');
    case 'failed':
      return say('failed', state.lastError?.message ?? 'Stopped by an error.');
  }
}

/**
 * Runs the browser participant for an allowed embedding and bridges it to the partner page: events
 * out (status, progress, roundJoined, error), calls in (addExamples, pause, resume, forgetMe).
 * Keeps to the visit limits: the worker rests after each training batch so training stays within
 * the duty cycle (data-duty) all through a round, and the frame stops when the visit's budget is spent. Hidden tabs pause through the participant's own policy.
 */
export function useEmbedParticipant(setup: EmbedSetup | null) {
  const [state, setState] = useState<ParticipantState>();
  const [flags, setFlags] = useState<FrameFlags>({ partnerPaused: false, done: false, forgotten: false, startError: null });
  const flagsRef = useRef(flags);
  const participantRef = useRef<BrowserParticipant | null>(null);
  const publishRef = useRef<(() => void) | null>(null);

  const patchFlags = (patch: Partial<FrameFlags>): void => {
    flagsRef.current = { ...flagsRef.current, ...patch };
    setFlags(flagsRef.current);
    // Flags change the status too (done, forgotten): tell the partner page.
    publishRef.current?.();
  };

  useEffect(() => {
    if (!setup) return;
    const { serverUrl, taskId, partnerKey, parentOrigin, task, limits, storage } = setup;
    let visitor = '';
    const p = createBrowserParticipant({
      serverUrl,
      taskId,
      storage,
      dutyCycle: limits.dutyCycle,
      session: {
        // The server checks the key against the embedding origin again at the handshake.
        socketFactory: (url) =>
          io(url, { transports: ['websocket'], autoConnect: false, reconnectionDelay: 500, reconnectionDelayMax: 10_000, auth: { partnerKey, partnerOrigin: parentOrigin, taskId, visitor } }),
      },
    });
    participantRef.current = p;
    const timers: ReturnType<typeof setTimeout>[] = [];
    // The model that suggests words in the partner's box: the task's latest global version, loaded on
    // the first suggest and again when a newer version is committed.
    let suggester: { version: number | 'latest'; model: Promise<SuggestionModel> } | undefined;
    const suggestionModel = (): Promise<SuggestionModel> => {
      const version = p.getState().globalModel?.version ?? 'latest';
      if (!suggester || (version !== 'latest' && suggester.version !== version)) {
        const old = suggester?.model;
        // A personalized task suggests with this device's own layers, as the participant page does.
        const personalization = p.getState().task?.personalization;
        suggester = { version, model: loadSuggestionModel(serverUrl, taskId, version, personalization && { config: personalization, load: () => p.personalLayers() }) };
        void old?.then((m) => m.dispose(), () => undefined);
        // A failed load is tried again on the next call.
        const mine = suggester;
        mine.model.catch(() => suggester === mine && (suggester = undefined));
      }
      return suggester.model;
    };
    const inputSize = task.inputShape.reduce((a, b) => a * b, 1);

    const onCall: CallHandler = async (method, args) => {
      switch (method) {
        case 'addExamples': {
          const examples = (args as { examples: unknown }).examples;
          const problem = findExampleProblem(examples, { inputSize, numClasses: task.numClasses });
          if (problem) throw Object.assign(new Error(problem), { code: 'BAD_REQUEST' });
          const list = examples as { input: number[]; label: number }[];
          await p.addExamples(list.map((e) => ({ x: Float32Array.from(e.input), y: e.label })), 'partner');
          return list.length;
        }
        case 'addText': {
          const rows = nextWordExamplesOf((args as { text: string }).text, p.getState().task?.data);
          if (typeof rows === 'string') throw Object.assign(new Error(rows), { code: rows.includes('not joined') ? 'UNAVAILABLE' : 'BAD_REQUEST' });
          if (rows.length > 0) await p.addExamples(rows, 'partner');
          return rows.length;
        }
        case 'suggest': {
          const data = p.getState().task?.data;
          // Checked before the model loads: a task that is not a next-word task never loads one.
          const problem = nextWordSuggestionsOf('', data, () => []);
          if (typeof problem === 'string') throw Object.assign(new Error(problem), { code: problem.includes('not joined') ? 'UNAVAILABLE' : 'BAD_REQUEST' });
          const model = await suggestionModel();
          return nextWordSuggestionsOf((args as { text: string }).text, data, (context) => model.predict(context)) as string[];
        }
        case 'pause':
          patchFlags({ partnerPaused: true });
          p.pause();
          return undefined;
        case 'resume':
          patchFlags({ partnerPaused: false });
          if (!flagsRef.current.done) p.resume();
          return undefined;
        case 'forgetMe':
          await p.deleteMyData();
          patchFlags({ forgotten: true });
          return undefined;
      }
      return undefined;
    };
    const channel = openParentChannel(parentOrigin, onCall);
    channel.post('ready', { taskId });

    // What the partner was last told, so each event goes out once per change.
    let lastStatus = '';
    let lastRound = -1;
    let lastProgress = '';
    let lastErrorAt = 0;
    const publish = (): void => {
      const s = p.getState();
      setState(s);
      const status = describeStatus(s, flagsRef.current, limits.dutyCycle);
      const statusKey = JSON.stringify(status);
      if (statusKey !== lastStatus) {
        lastStatus = statusKey;
        channel.post('status', status);
      }
      const round = s.progress.round;
      if (round !== undefined && round !== lastRound) {
        lastRound = round;
        channel.post('roundJoined', { round });
      }
      if (round !== undefined) {
        const stage = s.progress.upload > 0 ? 'upload' : s.progress.train > 0 ? 'train' : 'download';
        const fraction = Math.round(Math.min(1, Math.max(0, s.progress[stage])) * 20) / 20;
        const key = `${round}|${stage}|${fraction}`;
        if (key !== lastProgress) {
          lastProgress = key;
          channel.post('progress', { round, stage, fraction });
        }
      }
      if (s.lastError && s.lastError.at !== lastErrorAt) {
        lastErrorAt = s.lastError.at;
        channel.post('error', { code: s.lastError.code, message: s.lastError.message.slice(0, 500) });
      }
    };
    const unsubscribe = p.subscribe(publish);
    publishRef.current = publish;

    void (async () => {
      try {
        visitor = await p.localId();
        // Demo data for the task's dataset, when the site has some: this visitor's shard, as on the participant page.
        await loadDemoShard(p, task.dataset, visitor);
        timers.push(
          setTimeout(() => {
            patchFlags({ done: true });
            void p.stop().then(publish);
          }, limits.budgetMs),
        );
        await p.start();
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const message = err instanceof Error ? err.message : String(err);
        channel.post('error', { code: typeof code === 'string' ? code : 'INTERNAL', message: message.slice(0, 500) });
        patchFlags({ startError: message });
      }
    })();

    return () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      void suggester?.model.then((m) => m.dispose(), () => undefined);
      publishRef.current = null;
      channel.dispose();
      void p.stop();
    };
  }, [setup]);

  return {
    state,
    status: describeStatus(state, flags, setup?.limits.dutyCycle),
    paused: flags.partnerPaused,
    pause: () => {
      patchFlags({ partnerPaused: true });
      participantRef.current?.pause();
    },
    resume: () => {
      patchFlags({ partnerPaused: false });
      if (!flagsRef.current.done) participantRef.current?.resume();
    },
    forget: async () => {
      await participantRef.current?.deleteMyData();
      patchFlags({ forgotten: true });
    },
  };
}
