import {
  ChorusError,
  SecAggParticipant,
  normalizeBinary,
  secAggServerMessageSchema,
  type RoundInvite,
  type SecAggServerMessage,
  type SecAggWireStage,
} from '@chorus/core';
import { request, type SessionSocket } from './session-socket.js';

/**
 * A participant's side of one securely aggregated round over the session's socket: keys go out as
 * soon as the invitation arrives, shares when the neighbours' keys come back, and the trained
 * update — masked — only once the neighbours' shares are in. The server never receives it in the
 * clear. Messages from the server are routed here by the session (`secagg:next`).
 */
export interface SecureRoundClient {
  /** A `secagg:next` message for this round (others are ignored). */
  receive(raw: unknown): void;
  /** Masks and sends the trained update; resolves once the server took it. */
  submit(update: Float32Array, numExamples: number): Promise<{ bytes: number }>;
  /** Stops answering (the round was cancelled or superseded). */
  close(): void;
}

export function createSecureRoundClient(invite: RoundInvite, socket: () => SessionSocket, ackTimeoutMs: number, onError: (err: ChorusError) => void): SecureRoundClient {
  const secure = normalizeBinary(invite.secureAggregation) as { id: number; setup: never };
  let closed = false;
  const send = (stage: SecAggWireStage, message: unknown) => request(socket(), 'secagg:message', { taskId: invite.taskId, roundId: invite.roundId, stage, message }, ackTimeoutMs);
  const fail = (err: unknown) => {
    if (!closed) onError(ChorusError.from(err));
  };
  const participant = SecAggParticipant.create(secure.setup, secure.id);
  void participant.then(async (p) => send('advertise', await p.advertise())).catch(fail);
  let sharesArrived!: (payload: unknown) => void;
  const shares = new Promise<unknown>((resolve) => (sharesArrived = resolve));
  const handle = async (msg: SecAggServerMessage): Promise<void> => {
    const p = await participant;
    const payload = normalizeBinary(msg.payload) as never;
    if (msg.event === 'secagg:keys') await send('share', await p.shareKeys(payload));
    if (msg.event === 'secagg:shares') sharesArrived(payload);
    if (msg.event === 'secagg:unmask') await send('unmask', await p.unmask(payload));
  };
  return {
    receive(raw) {
      const parsed = secAggServerMessageSchema.safeParse(raw);
      if (closed || !parsed.success || parsed.data.roundId !== invite.roundId) return;
      void handle(parsed.data).catch(fail);
    },
    async submit(update, numExamples) {
      const p = await participant;
      const message = await p.maskedInput((await shares) as never, update, numExamples);
      if (closed) throw new ChorusError('ROUND_CLOSED', `round ${invite.roundId} closed before its masked input was sent`);
      await send('mask', message);
      return { bytes: message.masked.byteLength };
    },
    close() {
      closed = true;
    },
  };
}
