import { EMBED_PROTOCOL, MAX_SUGGESTION_CHARS, MAX_SUGGESTIONS, parsePartnerMessage, type EmbedEventMap, type EmbedEventName, type EmbedMethodMap, type EmbedErrorEvent, type PartnerCallMessage } from '@chorus/embed';

export type CallHandler = <M extends keyof EmbedMethodMap>(method: M, args: EmbedMethodMap[M]) => Promise<number | readonly string[] | undefined>;

export interface ParentChannel {
  post<K extends EmbedEventName>(event: K, data: EmbedEventMap[K]): void;
  dispose(): void;
}

/**
 * The frame's side of the postMessage API. Messages count only when they come from our parent
 * window AND its origin is the one the server allowed; everything we send names that origin as its
 * target, so another page in between never receives it. Only the events in messages.ts go out:
 * never weights, updates or examples.
 */
export function openParentChannel(parentOrigin: string, onCall: CallHandler | null): ParentChannel {
  const parent = window.parent;
  const post: ParentChannel['post'] = (event, data) => parent.postMessage({ chorus: EMBED_PROTOCOL, kind: 'event', event, data }, parentOrigin);
  const reply = (id: number, result: { ok: true; value?: number; words?: readonly string[] } | { ok: false; error: EmbedErrorEvent }): void =>
    parent.postMessage({ chorus: EMBED_PROTOCOL, kind: 'reply', id, ...result }, parentOrigin);

  const onMessage = (ev: MessageEvent): void => {
    if (ev.source !== parent || ev.origin !== parentOrigin) return;
    const msg: PartnerCallMessage | null = parsePartnerMessage(ev.data);
    if (!msg) return;
    if (!onCall) {
      reply(msg.id, { ok: false, error: { code: 'FORBIDDEN', message: 'This site is not allowed to contribute to this Chorus task' } });
      return;
    }
    onCall(msg.method, msg.args as never).then(
      (value) =>
        reply(
          msg.id,
          value === undefined
            ? { ok: true }
            : typeof value === 'number'
              ? { ok: true, value }
              : // Cut to what the loader accepts, so a long vocabulary word cannot void the whole reply.
                { ok: true, words: value.slice(0, MAX_SUGGESTIONS).filter((w) => w.length <= MAX_SUGGESTION_CHARS) },
        ),
      (err: unknown) => {
        const e = err as { code?: unknown; message?: unknown };
        reply(msg.id, { ok: false, error: { code: typeof e.code === 'string' ? e.code : 'INTERNAL', message: String(e.message ?? err).slice(0, 500) } });
      },
    );
  };
  window.addEventListener('message', onMessage);
  return { post, dispose: () => window.removeEventListener('message', onMessage) };
}
