import type { ClientFailure, TaskStatus } from '@chorus/core';
import type { AdminUser, Role } from '../auth/auth-store.js';
import type { ParticipantHistory } from './selection-records.js';
import type { StoredReceipt, StoredRound, StoredTask, StoredVersion, VersionSummary } from './storage.js';

/**
 * Rows → records, shared by the SQLite and PostgreSQL implementations (same column names). Numbers
 * go through Number(): PostgreSQL returns BIGINT as a string; both return BLOB/BYTEA as a Buffer.
 */
export type Row = Record<string, unknown>;

export const json = (v: unknown): string => JSON.stringify(v);
export const parse = <T>(s: unknown): T => JSON.parse(String(s)) as T;
/** Rounds closed before ClientFailure's `clientId` became `participantId` are read with the new name. */
const parseFailures = (s: unknown): ClientFailure[] =>
  parse<(ClientFailure & { clientId?: string })[]>(s).map(({ clientId, ...f }) => (clientId !== undefined && f.participantId === undefined ? { ...f, participantId: clientId } : f));
export const bytes = (b: unknown): Uint8Array => {
  const buf = b as Buffer;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
};

export function toTask(r: Row): StoredTask {
  return {
    id: String(r.id),
    config: parse(r.config),
    topology: parse(r.topology),
    layout: parse(r.layout),
    status: r.status as TaskStatus,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export function toSummary(r: Row): VersionSummary {
  return { taskId: String(r.task_id), version: Number(r.version), round: Number(r.round), metrics: parse(r.metrics), byteLength: Number(r.byte_length), createdAt: Number(r.created_at) };
}

export function toVersion(r: Row): StoredVersion {
  return { ...toSummary(r), payload: bytes(r.payload), strategyState: r.strategy_state == null ? null : bytes(r.strategy_state) };
}

export function toRound(r: Row): StoredRound {
  return {
    taskId: String(r.task_id),
    round: Number(r.round),
    roundId: String(r.round_id),
    version: Number(r.version),
    state: r.state as StoredRound['state'],
    startedAt: Number(r.started_at),
    closedAt: r.closed_at == null ? null : Number(r.closed_at),
    selected: Number(r.selected),
    participants: Number(r.participants),
    failures: parseFailures(r.failures),
    bytesUp: Number(r.bytes_up),
    bytesDown: Number(r.bytes_down),
    metrics: parse(r.metrics),
    abandonReason: r.abandon_reason == null ? null : String(r.abandon_reason),
  };
}

export function toReceipt(r: Row): StoredReceipt {
  return {
    taskId: String(r.task_id),
    round: Number(r.round),
    participantId: String(r.participant_id),
    bytes: Number(r.bytes),
    l2Norm: r.l2_norm == null ? null : Number(r.l2_norm),
    accepted: Number(r.accepted) === 1,
    code: r.code == null ? null : String(r.code),
    reason: r.reason == null ? null : String(r.reason),
    at: Number(r.at),
  };
}


export type UserRow = { id: string; username: string; password_hash: string; role: Role; created_at: number | string; created_by: string | null };
export const userFromRow = (r: UserRow): AdminUser => ({ id: r.id, username: r.username, role: r.role, createdAt: Number(r.created_at), createdBy: r.created_by });

/** A participant_history row (both databases name and type the columns alike). */
export function toParticipantHistory(r: Row): ParticipantHistory {
  return {
    participantId: String(r.participant_id),
    invited: Number(r.invited),
    completed: Number(r.completed),
    dropped: Number(r.dropped),
    lastLoss: r.last_loss == null ? null : Number(r.last_loss),
    lastExamples: Number(r.last_examples),
    lastDurationMs: r.last_duration_ms == null ? null : Number(r.last_duration_ms),
    lastRound: Number(r.last_round),
    signature: parseSignature(r.signature),
  };
}

/** How both databases store a signature: JSON text, or NULL. */
export const signatureColumn = (signature: readonly number[] | null): string | null => (signature ? JSON.stringify(signature) : null);

/** A stored signature, or null when absent or not what `updateSignature` writes (at most 64 finite numbers). */
function parseSignature(raw: unknown): number[] | null {
  if (typeof raw !== 'string') return null;
  try {
    const v = JSON.parse(raw) as unknown;
    return Array.isArray(v) && v.length > 0 && v.length <= 64 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : null;
  } catch {
    return null;
  }
}
