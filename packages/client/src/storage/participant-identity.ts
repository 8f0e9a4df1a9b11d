import type { ParticipantDb } from './participant-db.js';

const LOCAL_ID_KEY = 'localId';
const serverIdKey = (serverUrl: string, taskId: string): string => `participantId:${serverUrl}|${taskId}`;
const serverTokenKey = (serverUrl: string, taskId: string): string => `participantToken:${serverUrl}|${taskId}`;

/**
 * Pseudonymous identities. The local id is random, made on first visit and never linked to the
 * person; it picks the demo data shard. The server-issued id lets a reload rejoin as the same
 * participant (and finish its round); the server's signed token for that id proves it is ours.
 */
export interface ParticipantIdentity {
  localId(): Promise<string>;
  serverParticipantId(serverUrl: string, taskId: string): Promise<string | undefined>;
  /** Remembers the id and, when the server issued one, the signed token bound to it. */
  rememberServerParticipantId(serverUrl: string, taskId: string, participantId: string, token?: string): Promise<void>;
  serverToken(serverUrl: string, taskId: string): Promise<string | undefined>;
}

function randomId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createParticipantIdentity(db: ParticipantDb): ParticipantIdentity {
  return {
    async localId() {
      const tx = db.transaction('meta', 'readwrite');
      const existing = await tx.store.get(LOCAL_ID_KEY);
      if (typeof existing === 'string') {
        await tx.done;
        return existing;
      }
      const id = randomId();
      await tx.store.put(id, LOCAL_ID_KEY);
      await tx.done;
      return id;
    },
    async serverParticipantId(serverUrl, taskId) {
      const v = await db.get('meta', serverIdKey(serverUrl, taskId));
      return typeof v === 'string' ? v : undefined;
    },
    async rememberServerParticipantId(serverUrl, taskId, participantId, token) {
      const tx = db.transaction('meta', 'readwrite');
      await tx.store.put(participantId, serverIdKey(serverUrl, taskId));
      if (token) await tx.store.put(token, serverTokenKey(serverUrl, taskId));
      else await tx.store.delete(serverTokenKey(serverUrl, taskId));
      await tx.done;
    },
    async serverToken(serverUrl, taskId) {
      const v = await db.get('meta', serverTokenKey(serverUrl, taskId));
      return typeof v === 'string' ? v : undefined;
    },
  };
}

/** A stable small integer from an id (FNV-1a), e.g. to pick one of `n` demo shards. */
export function idToIndex(id: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}
