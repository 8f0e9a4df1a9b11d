import {
  ChorusError,
  normalizeBinary,
  secAggServerMessageSchema,
  type MaskedInput,
  type RoundInvite,
  type SecAggServerMessage,
  type SecAggWireStage,
} from '@chorus/core';
import type { SecureComputation } from './secure-computation.js';
import { request, type SessionSocket } from './session-socket.js';

/**
 * A participant's side of one securely aggregated round over the session's socket: keys go out as
 * soon as the invitation arrives, shares when the neighbours' keys come back, and the trained
 * update — masked — only once the neighbours' shares are in. The server never receives it in the
 * clear. Messages from the server are routed here by the session (`secagg:next`); the computation
 * itself (keys, masking) happens in `computation` — the trainer worker in a browser.
 */
export interface SecureRoundClient {
  /** A `secagg:next` message for this round (others are ignored). */
  receive(raw: unknown): void;
  /**
   * Masks and sends the trained update (undefined: the one the trainer kept in its worker); resolves
   * once the server took it. A masked input larger than one message goes in parts.
   */
  submit(update: Float32Array | undefined, numExamples: number, onProgress?: (fraction: number) => void): Promise<{ bytes: number }>;
  /** Stops answering (the round was cancelled or superseded). */
  close(): void;
  /** Participants on the round's roster (the server sees only the sum of their updates). */
  readonly participants: number;
}

export interface SecureRoundClientOptions {
  readonly socket: () => SessionSocket;
  readonly computation: SecureComputation;
  readonly ackTimeoutMs: number;
  /** Largest part of a masked input (the session's and the server's chunk limit). */
  maxChunkBytes(): number;
  onError(err: ChorusError): void;
}

export function createSecureRoundClient(invite: RoundInvite, options: SecureRoundClientOptions): SecureRoundClient {
  const { computation, ackTimeoutMs } = options;
  const { roundId } = invite;
  const secure = normalizeBinary(invite.secureAggregation) as { id: number; setup: unknown };
  let closed = false;
  const send = (stage: SecAggWireStage, message: unknown, chunk?: { index: number; count: number; byteLength: number }) =>
    request(options.socket(), 'secagg:message', { taskId: invite.taskId, roundId, stage, message, ...(chunk ? { chunk } : {}) }, ackTimeoutMs);
  const fail = (err: unknown) => {
    if (!closed) options.onError(ChorusError.from(err));
  };
  const begun = computation.begin(roundId, secure.setup, secure.id);
  void begun.then((keys) => send('advertise', keys)).catch(fail);
  let sharesArrived!: (payload: unknown) => void;
  let sharesLost!: (err: ChorusError) => void;
  const shares = new Promise<unknown>((resolve, reject) => ((sharesArrived = resolve), (sharesLost = reject)));
  shares.catch(() => undefined); // only submit() awaits it; a round closed before training ends needs no handler
  const handle = async (msg: SecAggServerMessage): Promise<void> => {
    await begun;
    const payload = normalizeBinary(msg.payload) as never;
    if (msg.event === 'secagg:keys') await send('share', await computation.share(roundId, payload));
    if (msg.event === 'secagg:shares') sharesArrived(payload);
    if (msg.event === 'secagg:unmask') {
      try {
        await send('unmask', await computation.unmask(roundId, payload));
      } finally {
        await computation.end(roundId);
      }
    }
  };
  /** The masked input in one message when it fits, else in ordered parts of at most maxChunkBytes. */
  const sendMasked = async ({ id, masked }: MaskedInput, onProgress?: (fraction: number) => void): Promise<void> => {
    const size = Math.max(1, options.maxChunkBytes());
    if (masked.byteLength <= size) return void (await send('mask', { id, masked }));
    const count = Math.ceil(masked.byteLength / size);
    for (let index = 0; index < count; index++) {
      if (closed) throw new ChorusError('ROUND_CLOSED', `round ${roundId} closed while its masked input was being sent`);
      await send('mask', { id, masked: masked.slice(index * size, (index + 1) * size) }, { index, count, byteLength: masked.byteLength });
      onProgress?.((index + 1) / count);
    }
  };
  return {
    receive(raw) {
      const parsed = secAggServerMessageSchema.safeParse(raw);
      if (closed || !parsed.success || parsed.data.roundId !== roundId) return;
      void handle(parsed.data).catch(fail);
    },
    async submit(update, numExamples, onProgress) {
      await begun;
      const message = await computation.mask(roundId, (await shares) as never, update, numExamples);
      if (closed) throw new ChorusError('ROUND_CLOSED', `round ${roundId} closed before its masked input was sent`);
      await sendMasked(message, onProgress);
      return { bytes: message.masked.byteLength };
    },
    get participants() {
      const n = (secure.setup as { participants?: unknown } | null)?.participants;
      return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 1;
    },
    close() {
      if (closed) return;
      closed = true;
      // A submit() still waiting for the neighbours' shares ends instead of waiting forever.
      sharesLost(new ChorusError('ROUND_CLOSED', `round ${roundId} closed before the neighbours' shares arrived`));
      void computation.end(roundId).catch(() => undefined);
    },
  };
}
