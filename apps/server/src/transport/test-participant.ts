import { io as connect, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, decodePayload, type Ack, type FlatWeights, type JoinResponse, type ModelUpdated, type RoundInvite, type UpdateReceipt } from '@chorus/core';

/**
 * A scripted participant for integration tests: a real socket.io-client that records what the server
 * sends and uploads crafted payloads in chunks, exactly as a browser would.
 */
export class TestParticipant {
  readonly socket: Socket;
  readonly invites: RoundInvite[] = [];
  readonly cancels: { roundId: string; reason: string }[] = [];
  readonly updates: ModelUpdated[] = [];
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
    this.socket.on('round:invite', (m: RoundInvite) => this.invites.push(m));
    this.socket.on('round:cancel', (m: { roundId: string; reason: string }) => this.cancels.push(m));
    this.socket.on('model:updated', (m: ModelUpdated) => this.updates.push(m));
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

  /** begin → chunks of `chunkBytes` → end; returns the final ack (or the first failing one). */
  async upload(invite: RoundInvite, payload: Uint8Array, chunkBytes: number, numExamples = 100): Promise<Ack<UpdateReceipt | unknown>> {
    const begin = await this.request<{ uploadId: string }>('update:begin', { taskId: invite.taskId, roundId: invite.roundId, version: invite.version, numExamples, byteLength: payload.byteLength, metrics: { loss: 1 } });
    if (!begin.ok) return begin;
    for (let seq = 0, off = 0; off < payload.byteLength; seq++, off += chunkBytes) {
      const chunk = await this.request('update:chunk', { uploadId: begin.data.uploadId, seq, data: payload.subarray(off, off + chunkBytes) });
      if (!chunk.ok) return chunk;
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
}

export async function fetchWeights(url: string, taskId: string, version: number | 'latest'): Promise<FlatWeights> {
  const res = await fetch(`${url}/api/tasks/${taskId}/versions/${version}/weights`);
  if (!res.ok) throw new Error(`weights: HTTP ${res.status}`);
  return decodePayload(new Uint8Array(await res.arrayBuffer()));
}
