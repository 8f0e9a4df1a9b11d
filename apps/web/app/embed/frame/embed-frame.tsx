'use client';

import { useEffect, useMemo, useState, type CSSProperties } from 'react';
import { checkEmbedding, type VisitLimits } from '@chorus/embed';
import { REFUSAL_HEADLINE, type EmbedDecision } from './embed-check.js';
import { openParentChannel } from './parent-channel.js';
import { useEmbedParticipant, type EmbedSetup } from './use-embed-participant.js';
import { askForStorageAccess, storageAccessOffered, useFrameStorage } from './use-frame-storage.js';

interface Props {
  readonly serverUrl: string;
  readonly taskId: string;
  readonly partnerKey: string;
  readonly decision: EmbedDecision;
  readonly limits: VisitLimits;
}

const box: CSSProperties = { font: '13px/1.4 system-ui, sans-serif', color: '#1d2433', padding: '8px 10px', margin: 0 };
const button: CSSProperties = { font: 'inherit', padding: '3px 10px', marginRight: 6, borderRadius: 5, border: '1px solid #8a94a8', background: '#fff', cursor: 'pointer' };

/** What the browser says about our parent, checked once mounted (the server already checked the Referer). */
function useBrowserCheck(decision: EmbedDecision): EmbedDecision | null {
  const [checked, setChecked] = useState<EmbedDecision | null>(null);
  useEffect(() => {
    if (!decision.allowed) return setChecked(decision);
    const framed = window.parent !== window;
    const ancestor = window.location.ancestorOrigins?.[0] ?? null;
    const verdict = checkEmbedding({ framed, parentParam: decision.origin, ancestorOrigin: ancestor, referrer: document.referrer || null });
    setChecked(verdict.ok ? decision : { allowed: false, code: 'FORBIDDEN', reason: verdict.reason, origin: null });
  }, [decision]);
  return checked;
}

function Refusal({ decision }: { decision: Extract<EmbedDecision, { allowed: false }> }) {
  useEffect(() => {
    // Tell the (claimed) parent why nothing starts; the target origin keeps it from anyone else.
    if (!decision.origin || window.parent === window) return;
    const channel = openParentChannel(decision.origin, null);
    channel.post('refused', { code: decision.code, message: `${REFUSAL_HEADLINE}. ${decision.reason}`.slice(0, 500) });
    return () => channel.dispose();
  }, [decision]);
  return (
    <div role="alert" data-testid="embed-refused" style={{ ...box, background: '#fff4f2' }}>
      <strong>{REFUSAL_HEADLINE}.</strong>
      <div style={{ color: '#5b6478' }}>{decision.reason} Nothing runs in your browser.</div>
    </div>
  );
}

/** The Storage Access API button, where the browser offers it (it needs this click). */
function StorageAccessButton() {
  const [answer, setAnswer] = useState<string | null>(null);
  if (!storageAccessOffered()) return null;
  const ask = async (): Promise<void> => {
    const outcome = await askForStorageAccess();
    setAnswer(outcome.text);
    if (outcome.granted) window.location.reload();
  };
  return (
    <div style={{ marginTop: 6 }}>
      <button type="button" style={button} onClick={() => void ask()} data-testid="embed-storage-access">
        Let Chorus keep its data in this browser
      </button>
      {answer && (
        <span role="status" style={{ color: '#4a5368' }}>
          {answer}
        </span>
      )}
    </div>
  );
}

export const MEMORY_NOTE = 'This browser does not let Chorus keep anything inside other sites, so this visit trains from memory: nothing is kept after you close this tab.';
export const blockedText = (reason: string): string =>
  `This browser does not let Chorus store anything inside other sites (${reason}), and this site asks Chorus not to train without storage.`;

/** Storage blocked and the key asks to link out: say why, link to the Chorus page, tell the partner. */
function StorageBlocked({ setup, reason }: { setup: Omit<EmbedSetup, 'storage'>; reason: string }) {
  const text = blockedText(reason);
  useEffect(() => {
    const channel = openParentChannel(setup.parentOrigin, null);
    channel.post('status', { phase: 'unavailable', text, rounds: 0, examples: 0 });
    channel.post('error', { code: 'STORAGE_BLOCKED', message: text.slice(0, 500) });
    return () => channel.dispose();
  }, [setup.parentOrigin, text]);
  return (
    <div role="alert" style={box} data-testid="embed-storage-blocked">
      <div>
        <strong>Chorus</strong> · {setup.task.name}
      </div>
      <div data-testid="embed-status" data-phase="unavailable">
        {text}
      </div>
      <div>
        <a href={`${window.location.origin}/`} target="_blank" rel="noopener" data-testid="embed-participant-link">
          Contribute on the Chorus page instead
        </a>
      </div>
      <StorageAccessButton />
    </div>
  );
}

function Contributing({ setup }: { setup: EmbedSetup }) {
  const { status, paused, pause, resume, forget } = useEmbedParticipant(setup);
  const over = status.phase === 'stopped' || status.phase === 'done';
  return (
    <div style={box}>
      <div>
        <strong>Chorus</strong> · {setup.task.name}
      </div>
      {setup.storage === 'memory' && (
        <div style={{ color: '#4a5368' }} data-testid="embed-memory-note">
          {MEMORY_NOTE}
        </div>
      )}
      <div data-testid="embed-status" data-phase={status.phase}>
        {status.text}
      </div>
      <div style={{ color: '#5b6478' }} data-testid="embed-rounds">
        {status.rounds} round{status.rounds === 1 ? '' : 's'} contributed · {status.examples} examples {setup.storage === 'memory' ? 'held for this visit' : 'kept in this browser'}
      </div>
      {setup.storage === 'memory' && !over && <StorageAccessButton />}
      {!over && (
        <div style={{ marginTop: 6 }}>
          <button type="button" style={button} onClick={paused ? resume : pause} data-testid="embed-pause">
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" style={button} onClick={() => void forget()} data-testid="embed-forget">
            Stop and forget
          </button>
        </div>
      )}
    </div>
  );
}

/** The iframe body: a refusal, or the compact contribution status with pause and "stop and forget". */
export function EmbedFrame({ serverUrl, taskId, partnerKey, decision, limits }: Props) {
  const checked = useBrowserCheck(decision);
  const storage = useFrameStorage(checked?.allowed ? checked.storageFallback : null);
  const base = useMemo<Omit<EmbedSetup, 'storage'> | null>(
    () => (checked?.allowed ? { serverUrl, taskId, partnerKey, parentOrigin: checked.origin, task: checked.task, limits } : null),
    [checked, serverUrl, taskId, partnerKey, limits],
  );
  const mode = storage.mode;
  const setup = useMemo<EmbedSetup | null>(() => (base && (mode === 'indexeddb' || mode === 'memory') ? { ...base, storage: mode } : null), [base, mode]);
  if (!decision.allowed) return <Refusal decision={decision} />;
  if (!checked) return <div style={box}>Checking this site…</div>;
  if (!checked.allowed) return <Refusal decision={checked} />;
  if (storage.mode === 'checking') return <div style={box}>Checking this browser&apos;s storage…</div>;
  if (storage.mode === 'blocked') return <StorageBlocked setup={base!} reason={storage.reason} />;
  return <Contributing setup={setup!} />;
}
