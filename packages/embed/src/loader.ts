/**
 * embed.js: what a partner's `<script src=".../embed.js" data-task data-key async>` runs. It only
 * draws the consent card; TensorFlow.js, the worker and the model live in the Chorus iframe, which
 * is inserted after the visitor agrees. Nothing else runs without consent.
 */
import { createCardView } from './consent-card.js';
import { createConsentStore } from './consent-store.js';
import { createFrameBridge, type FrameBridge } from './frame-bridge.js';
import type { EmbedEventMap, EmbedEventName, PartnerExample } from './messages.js';
import { findOwnScript, frameUrl, readScriptConfig } from './script-config.js';
import { attachSuggestionStrip } from './suggestion-strip.js';

/** What the partner page calls: `window.Chorus`. */
export interface ChorusEmbedApi {
  readonly taskId: string;
  on<K extends EmbedEventName>(event: K, listener: (data: EmbedEventMap[K]) => void): () => void;
  /** Resolves with how many examples were stored in the visitor's browser. */
  addExamples(examples: readonly PartnerExample[]): Promise<number>;
  /**
   * Keyboard (next-word) tasks: text the visitor wrote in the partner's box (a comment), when the
   * partner offers "help improve suggestions" and the visitor ticked it. Resolves with how many
   * next-word examples were kept in the visitor's browser; the text never leaves it.
   */
  addText(text: string): Promise<number>;
  /** Keyboard tasks: up to three next words after `text`, most likely first (none before the visitor agrees). */
  suggest(text: string): Promise<readonly string[]>;
  /**
   * Keyboard tasks: a suggestion strip under `box` (Tab or a click accepts). Boxes with the
   * `data-chorus-suggest` attribute get one on their own. Returns a function that removes it.
   */
  attachSuggestions(box: HTMLTextAreaElement | HTMLInputElement): () => void;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Stops training, deletes the visitor's Chorus data in this browser and withdraws consent. */
  forgetMe(): Promise<void>;
  consent(): 'granted' | 'declined' | null;
}

declare global {
  interface Window {
    Chorus?: ChorusEmbedApi;
  }
}

/** How long after the frame loads it must have said 'ready' or 'refused'. */
const FRAME_ANSWER_MS = 8000;

function start(script: ReturnType<typeof findOwnScript>): void {
  const config = readScriptConfig(script);
  if (typeof config === 'string') {
    console.error(config);
    return;
  }
  if (window.Chorus) return; // The tag was included twice: one card is enough.
  const partnerOrigin = location.origin;
  const store = createConsentStore(window.localStorage ?? null, config.chorusOrigin, config.taskId);
  const bridge: FrameBridge = createFrameBridge(window, config.chorusOrigin);
  const view = createCardView({ taskId: config.taskId, chorusHost: new URL(config.chorusOrigin).host, partnerHost: location.host });
  let frame: HTMLIFrameElement | null = null;

  const activate = (): void => {
    frame = view.showFrame(frameUrl(config, partnerOrigin), () => void forget());
    const f = frame;
    bridge.attach(() => f.contentWindow);
    // A frame the browser refused to show (its frame-ancestors do not list this site) loads an
    // error page that never says 'ready': after a grace period, say so in plain words.
    f.addEventListener('load', () => setTimeout(() => {
      if (frame !== f || bridge.answered()) return;
      bridge.refuseLocally('FORBIDDEN', `This site (${partnerOrigin}) is not allowed to contribute to this Chorus task.`);
      view.showBlocked(`This site (${partnerOrigin}) is not allowed to contribute to this Chorus task.`, () => void forget());
    }, FRAME_ANSWER_MS), { once: true });
  };
  const decline = (): void => {
    bridge.detach();
    frame = null;
    store.set('declined');
    view.showDeclined(ask);
  };
  const ask = (): void =>
    view.showAsk(
      () => {
        store.set('granted');
        activate();
      },
      decline,
    );
  const forget = async (): Promise<void> => {
    // The frame deletes its IndexedDB data before we remove it; a frame that is gone has nothing to delete.
    if (frame) await bridge.call('forgetMe', {}).catch(() => undefined);
    decline();
  };

  window.Chorus = {
    taskId: config.taskId,
    on: (event, listener) => bridge.on(event, listener),
    addExamples: async (examples) => (await bridge.call('addExamples', { examples })) ?? 0,
    addText: async (text) => (await bridge.call('addText', { text })) ?? 0,
    suggest: async (text) => (await bridge.call('suggest', { text })) ?? [],
    attachSuggestions: (box) => attachSuggestionStrip(box, (text) => window.Chorus!.suggest(text)),
    pause: async () => void (await bridge.call('pause', {})),
    resume: async () => void (await bridge.call('resume', {})),
    forgetMe: forget,
    consent: store.get,
  };

  const decision = store.get();
  if (decision === 'granted') activate();
  else if (decision === 'declined') view.showDeclined(ask);
  else ask();
  document.body.append(view.host);
  for (const box of document.querySelectorAll<HTMLTextAreaElement | HTMLInputElement>('textarea[data-chorus-suggest],input[data-chorus-suggest]')) window.Chorus.attachSuggestions(box);
  document.dispatchEvent(new CustomEvent('chorus:ready'));
}

// currentScript is only set while the script first runs, so read the tag now, not on DOMContentLoaded.
const ownScript = findOwnScript(document);
if (document.body) start(ownScript);
else document.addEventListener('DOMContentLoaded', () => start(ownScript), { once: true });
