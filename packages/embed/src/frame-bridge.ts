import {
  EMBED_PROTOCOL,
  MAX_EXAMPLES_PER_CALL,
  MAX_TEXT_CHARS,
  parseFrameMessage,
  type EmbedEventMap,
  type EmbedEventName,
  type EmbedMethod,
  type EmbedMethodMap,
  type EmbedResultMap,
  type EmbedErrorEvent,
  type PartnerExample,
} from './messages.js';

type Listener<K extends EmbedEventName> = (data: EmbedEventMap[K]) => void;

/** The partner page's side of the postMessage API (what `window.Chorus` delegates to). */
export interface FrameBridge {
  on<K extends EmbedEventName>(event: K, listener: Listener<K>): () => void;
  call<M extends EmbedMethod>(method: M, args: EmbedMethodMap[M]): Promise<EmbedResultMap[M] | undefined>;
  /** Points the bridge at a (new) iframe window; calls wait until that frame says it is ready. */
  attach(frame: () => Window | null): void;
  /** Whether the attached frame has said 'ready' or 'refused' yet. */
  answered(): boolean;
  /**
   * The frame never answered (the browser refused to show it: the key's frame-ancestors do not list
   * this site): fail pending and later calls with `code` and tell 'refused' listeners, as the frame would.
   */
  refuseLocally(code: string, message: string): void;
  /** Forgets the frame: pending and later calls fail with NO_CONSENT until attach. */
  detach(): void;
  dispose(): void;
}

export class EmbedCallError extends Error {
  override readonly name = 'ChorusEmbedError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface Pending {
  readonly resolve: (v: number | readonly string[] | undefined) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Only messages whose origin is the Chorus origin AND whose source is our iframe's window count;
 * calls are posted to that window with the Chorus origin as target, never '*'.
 */
export function createFrameBridge(win: Pick<Window, 'addEventListener' | 'removeEventListener'>, chorusOrigin: string): FrameBridge {
  const listeners = new Map<EmbedEventName, Set<(d: unknown) => void>>();
  const pending = new Map<number, Pending>();
  let queue: (() => void)[] = [];
  let getFrame: (() => Window | null) | null = null;
  let ready = false;
  let refused: EmbedErrorEvent | null = null;
  let nextId = 1;

  const emit = (event: EmbedEventName, data: unknown): void => {
    for (const l of [...(listeners.get(event) ?? [])]) {
      try {
        l(data);
      } catch (err) {
        // A partner's listener failing must not break the bridge for other listeners.
        setTimeout(() => {
          throw err;
        });
      }
    }
  };

  const failAll = (code: string, message: string): void => {
    for (const p of pending.values()) p.reject(new EmbedCallError(code, message));
    pending.clear();
    queue = [];
  };

  const onMessage = (ev: MessageEvent): void => {
    const frame = getFrame?.();
    if (!frame || ev.origin !== chorusOrigin || ev.source !== frame) return;
    const msg = parseFrameMessage(ev.data);
    if (!msg) return;
    if (msg.kind === 'reply') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.words ?? msg.value);
      else p.reject(new EmbedCallError(msg.error?.code ?? 'INTERNAL', msg.error?.message ?? 'the Chorus frame refused the call'));
      return;
    }
    if (msg.event === 'ready') {
      ready = true;
      const q = queue;
      queue = [];
      for (const send of q) send();
    } else if (msg.event === 'refused') {
      refused = msg.data;
      failAll(msg.data.code, msg.data.message);
    }
    emit(msg.event, msg.data);
  };
  win.addEventListener('message', onMessage as EventListener);

  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (d: unknown) => void);
      return () => set.delete(listener as (d: unknown) => void);
    },
    call(method, args) {
      if (method === 'addExamples') {
        const examples = (args as { examples?: readonly PartnerExample[] }).examples;
        if (!Array.isArray(examples) || examples.length > MAX_EXAMPLES_PER_CALL) {
          return Promise.reject(new EmbedCallError('BAD_REQUEST', `addExamples: expected an array of at most ${MAX_EXAMPLES_PER_CALL} { input, label }`));
        }
      }
      if (method === 'addText' || method === 'suggest') {
        const text = (args as { text?: unknown }).text;
        if (typeof text !== 'string' || text.length > MAX_TEXT_CHARS) {
          return Promise.reject(new EmbedCallError('BAD_REQUEST', `${method}: expected a string of at most ${MAX_TEXT_CHARS} characters`));
        }
      }
      if (!getFrame) return Promise.reject(new EmbedCallError('NO_CONSENT', 'Chorus: the visitor has not agreed to contribute'));
      if (refused) return Promise.reject(new EmbedCallError(refused.code, refused.message));
      return new Promise<EmbedResultMap[typeof method] | undefined>((resolve, reject) => {
        const id = nextId++;
        // The reply's shape was checked by parseFrameMessage; which field it fills depends on the method.
        pending.set(id, { resolve: resolve as (v: number | readonly string[] | undefined) => void, reject });
        // Structured clone copies plain data only; the partner keeps no handle into the frame.
        const send = (): void => getFrame?.()?.postMessage({ chorus: EMBED_PROTOCOL, kind: 'call', id, method, args }, chorusOrigin);
        if (ready) send();
        else queue.push(send);
      });
    },
    answered: () => ready || refused !== null,
    refuseLocally(code, message) {
      if (ready || refused) return;
      refused = { code, message };
      failAll(code, message);
      emit('refused', refused);
    },
    attach(frame) {
      getFrame = frame;
      ready = false;
      refused = null;
    },
    detach() {
      getFrame = null;
      ready = false;
      failAll('NO_CONSENT', 'Chorus: the visitor stopped contributing');
    },
    dispose() {
      win.removeEventListener('message', onMessage as EventListener);
      failAll('NO_CONSENT', 'Chorus: the embed was removed');
    },
  };
}
