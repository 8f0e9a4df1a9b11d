import { io as connect, type Socket } from 'socket.io-client';
import { ChorusError, PROTOCOL_VERSION, SecAggParticipant, decodePayload, normalizeBinary, type Ack, type FlatWeights, type JoinResponse, type ModelUpdated, type RoundInvite, type SecAggServerMessage, type UpdateChunkResponse, type UpdateReceipt } from '@chorus/core';

/**
 * A scripted participant for integration tests: a real socket.io-client that records what the server
 * sends and uploads crafted payloads in chunks, exactly as a browser would.
 */
export class TestParticipant {
  readonly socket: Socket;
  readonly invites: RoundInvite[] = [];
  readonly cancels: { roundId: string; reason: string }[] = [];
  readonly updates: ModelUpdated[] = [];
  /** Invites and new versions in the order they arrived ("invite r2", "updated v1"). */
  readonly heard: string[] = [];
  participantId = '';

  /**
   * `auth` is the Socket.IO handshake auth (a partner key, a participant token); `ca` the PEM to
   * trust for wss://; `headers` extra handshake headers (what a proxy in front would add).
   */
  constructor(readonly url: string, options: { auth?: Record<string, string>; ca?: string; headers?: Record<string, string> } = {}) {
    this.socket = connect(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.headers ? { extraHeaders: options.headers } : {}),
    });
    this.socket.on('round:invite', (m: RoundInvite) => {
      this.invites.push(m);
      this.heard.push(`invite r${m.round}`);
    });
    this.socket.on('round:cancel', (m: { roundId: string; reason: string }) => this.cancels.push(m));
    this.socket.on('model:updated', (m: ModelUpdated) => {
      this.updates.push(m);
      this.heard.push(`updated v${m.version}`);
    });
  }

  request<T>(event: string, payload?: unknown): Promise<Ack<T>> {
    const s = this.socket.timeout(10_000);
    return (payload === undefined ? s.emitWithAck(event) : s.emitWithAck(event, payload)) as Promise<Ack<T>>;
  }

  async join(taskId: string, extra: Record<string, unknown> = {}): Promise<Ack<JoinResponse>> {
    const ack = await this.request<JoinResponse>('join', { protocolVersion: PROTOCOL_VERSION, taskId, capabilities: { backend: 'wasm', numExamples: 1000 }, ...extra });
    if (ack.ok) this.participantId = ack.data.participantId;
    return ack;
  }

  /**
   * begin → chunks of `chunkBytes`, the last marked `last` (its ack carries the receipt, as the
   * session sends them) or, with `end: 'message'`, followed by update:end; returns the receipt's ack
   * (or the first failing one).
   */
  async upload(invite: RoundInvite, payload: Uint8Array, chunkBytes: number, numExamples = 100, end: 'last' | 'message' = 'last'): Promise<Ack<UpdateReceipt | unknown>> {
    const begin = await this.request<{ uploadId: string }>('update:begin', { taskId: invite.taskId, roundId: invite.roundId, version: invite.version, numExamples, byteLength: payload.byteLength, metrics: { loss: 1 } });
    if (!begin.ok) return begin;
    for (let seq = 0, off = 0; off < payload.byteLength; seq++, off += chunkBytes) {
      const last = end === 'last' && off + chunkBytes >= payload.byteLength;
      const chunk = await this.request<UpdateChunkResponse>('update:chunk', { uploadId: begin.data.uploadId, seq, data: payload.subarray(off, off + chunkBytes), ...(last ? { last: true } : {}) });
      if (!chunk.ok) return chunk;
      if (last) return chunk.data.receipt ? { ok: true, data: chunk.data.receipt } : { ok: false, error: new ChorusError('INTERNAL', 'the last chunk was acknowledged without a receipt').toWire() };
    }
    return this.request<UpdateReceipt>('update:end', { uploadId: begin.data.uploadId });
  }

  async waitFor<T>(what: () => T | undefined, ms = 20_000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const v = what();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.socket.close();
  }

  /**
   * Answers every secure round of `taskId` as a SecAgg+ participant (keys, shares, `update` masked
   * with weight `examples`, unmasking). Refusals and handler failures go to `errors` as
   * "label:stage:message" (an unhandled rejection would take the test process down);
   * `closeAfterMask` closes the socket right after the masked input, as a closed tab would.
   */
  answerSecureRounds(taskId: string, options: { update: Float32Array; examples: number; errors: string[]; label: string; closeAfterMask?: boolean }): void {
    const { errors, label } = options;
    let me: SecAggParticipant | undefined;
    let roundId = '';
    let closed = false;
    const send = async (stage: string, message: unknown) => {
      if (closed) return;
      const ack = (await this.request('secagg:message', { taskId, roundId, stage, message })) as Ack<unknown>;
      if (!ack.ok) errors.push(`${label}:${stage}:${ack.error.message}`);
    };
    const guarded = <A>(fn: (a: A) => Promise<void>) => (a: A) => void fn(a).catch((err: unknown) => errors.push(`${label}: ${String(err)}`));
    this.socket.on('round:invite', guarded(async (inv: RoundInvite) => {
      const s = normalizeBinary(inv.secureAggregation) as { id: number; setup: never };
      roundId = inv.roundId;
      me = await SecAggParticipant.create(s.setup, s.id);
      await send('advertise', await me.advertise());
    }));
    this.socket.on('secagg:next', guarded(async (m: SecAggServerMessage) => {
      const payload = normalizeBinary(m.payload) as never;
      if (m.event === 'secagg:keys') await send('share', await me!.shareKeys(payload));
      if (m.event === 'secagg:shares') {
        await send('mask', await me!.maskedInput(payload, options.update, options.examples));
        if (options.closeAfterMask) {
          closed = true;
          this.close();
        }
      }
      if (m.event === 'secagg:unmask') await send('unmask', await me!.unmask(payload));
    }));
  }
}

export async function fetchWeights(url: string, taskId: string, version: number | 'latest'): Promise<FlatWeights> {
  const res = await fetch(`${url}/api/tasks/${taskId}/versions/${version}/weights`);
  if (!res.ok) throw new Error(`weights: HTTP ${res.status}`);
  return decodePayload(new Uint8Array(await res.arrayBuffer()));
}
