'use client';

import { useEffect, useState } from 'react';
import { PAUSE_REASON_TEXT, type ParticipantPhase } from '@chorus/client';
import { ConsentCard } from './consent-card.js';
import { DrawDigit } from './draw-digit.js';
import { ImportImages } from './import-images.js';
import { ImportCsv } from './import-csv.js';
import { AddEmail } from './add-email.js';
import { isNextWordData } from '@chorus/ml/data';
import { KeyboardBox, keyboardLearnKey, keyboardStatsKey } from './keyboard-box.js';
import { RoundPanel } from './round-panel.js';
import { PersonalModel } from './personal-model.js';
import { PrivacyCost } from './privacy-cost.js';
import { StatsPanel } from './stats-panel.js';
import { useParticipant } from './use-participant.js';

const PHASE_TEXT: Record<ParticipantPhase, string> = {
  idle: 'Starting…',
  'waiting-for-tab': 'Another tab is contributing',
  connecting: 'Connecting to the server…',
  preparing: 'Testing which way of training is fastest here…',
  running: 'Contributing',
  paused: 'Paused',
  stopped: 'Stopped',
  failed: 'Stopped by an error',
};

const consentKey = (taskId: string) => `chorus-consent:${taskId}`;

export function ParticipantApp({ serverUrl, taskId }: { readonly serverUrl: string; readonly taskId: string }) {
  // Unknown until mounted: consent lives in this browser's storage, not on the server.
  const [consented, setConsented] = useState<boolean | undefined>();
  useEffect(() => setConsented(window.localStorage.getItem(consentKey(taskId)) === 'yes'), [taskId]);
  const { participant, state, shard, setupError } = useParticipant(serverUrl, taskId, consented === true);

  if (consented === undefined) return null;
  if (!consented) {
    return (
      <ConsentCard
        serverUrl={serverUrl}
        taskId={taskId}
        onAccept={() => {
          window.localStorage.setItem(consentKey(taskId), 'yes');
          setConsented(true);
        }}
      />
    );
  }

  const paused = (state?.pauseReasons.length ?? 0) > 0;
  // Once joined, "connecting" means socket.io is retrying after a lost connection.
  const reconnecting = state?.sessionStatus === 'disconnected' || (state?.sessionStatus === 'connecting' && state.participantId !== undefined);
  const error = setupError ?? state?.lastError?.message;
  const deleteMyData = async () => {
    if (!participant || !window.confirm('Delete every digit, model and record this page stored on this device, and stop contributing?')) return;
    await participant.deleteMyData();
    window.localStorage.removeItem(keyboardStatsKey(taskId));
    window.localStorage.removeItem(keyboardLearnKey(taskId));
    window.localStorage.removeItem(consentKey(taskId));
    setConsented(false);
  };

  return (
    <>
      <div className="status-row">
        <span className={`pill phase-${state?.phase ?? 'idle'}`} data-testid="phase" data-phase={state?.phase ?? 'idle'}>
          {PHASE_TEXT[state?.phase ?? 'idle']}
        </span>
        <span className="muted small" data-testid="connection">
          {reconnecting ? 'Connection lost — reconnecting by itself…' : state?.sessionStatus ? `connection: ${state.sessionStatus}` : ''}
        </span>
      </div>
      {state?.participantId && (
        <p className="muted small">
          Your pseudonymous id for this task: <code data-testid="participant-id">{state.participantId}</code>
          {state.resumedRounds > 0 && <> · {state.resumedRounds} round{state.resumedRounds === 1 ? '' : 's'} resumed after a reload</>}
        </p>
      )}
      {paused && (
        <p className="notice" data-testid="paused-reasons">
          {state!.pauseReasons.map((r) => PAUSE_REASON_TEXT[r]).join(' ')}
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="error">
          {error}
        </p>
      )}
      {state && <RoundPanel state={state} />}
      {state && <StatsPanel state={state} />}
      {state && <PersonalModel state={state} />}
      {state && <PrivacyCost state={state} />}
      <section className="card" aria-labelledby="data-title">
        <h2 id="data-title">Your data (stays on this device)</h2>
        <p className="muted" data-testid="demo-shard">
          {shard === undefined
            ? 'Loading the demo data for this browser…'
            : shard === null
              ? 'This task has no demo data: the examples you add below are what this device trains on.'
              : shard.dataset === 'sotu'
                ? `Demo data: ${shard.count} next words from ${shard.source ?? 'a president'}'s State of the Union addresses, picked for this browser.`
                : `Demo data: ${shard.count} ${shard.dataset === 'mnist' ? 'MNIST digits' : 'examples'} (mostly ${shard.labels.join(', ')}), picked for this browser.`}
        </p>
        <div className="sources">
          {(state?.task?.data.kind ?? 'image') === 'image' && (
            <>
              <DrawDigit onAdd={(pixels, label) => participant!.addExamples([{ x: pixels, y: label }], 'drawn')} />
              <ImportImages onAdd={(pixels, label) => participant!.addExamples(pixels.map((x) => ({ x, y: label })), 'imported')} />
            </>
          )}
          {state?.task?.data.kind === 'tabular' && <ImportCsv data={state.task.data} onAdd={(rows) => participant!.addExamples(rows, 'imported')} />}
          {state?.task?.data.kind === 'text' && !isNextWordData(state.task.data) && <AddEmail data={state.task.data} onAdd={(rows) => participant!.addExamples(rows, 'imported')} />}
          {state?.task && isNextWordData(state.task.data) && (
            <KeyboardBox
              serverUrl={serverUrl}
              taskId={taskId}
              data={state.task.data}
              version={state.globalModel?.version ?? 'latest'}
              personal={state.task.personalization && { config: state.task.personalization, load: () => participant!.personalLayers() }}
              onLearn={(rows) => participant!.addExamples(rows, 'typed')}
            />
          )}
        </div>
      </section>
      <section className="card controls">
        {state?.pauseReasons.includes('user') ? (
          <button type="button" className="primary" onClick={() => participant?.resume()} data-testid="resume">
            Resume
          </button>
        ) : (
          <button type="button" onClick={() => participant?.pause()} data-testid="pause">
            Pause
          </button>
        )}
        <button type="button" className="danger" onClick={() => void deleteMyData()} data-testid="delete-data">
          Delete my data
        </button>
      </section>
    </>
  );
}
