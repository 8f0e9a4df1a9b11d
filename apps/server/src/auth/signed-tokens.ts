import { SignJWT, jwtVerify } from 'jose';

/**
 * HS256 tokens (jose) for two audiences: admin sessions (revocable: the session id is checked in
 * the database on every request) and pseudonymous participant tokens (bind a participant id to a
 * task, so a re-joining browser proves it is the same participant without an account).
 */
const ISSUER = 'chorus';
const ADMIN = 'chorus-admin';
const PARTICIPANT = 'chorus-participant';

/**
 * The secret imported once as an HMAC key. Given raw bytes, jose imports them again on every sign
 * and verify; a join signs one token (and verifies one), so under a storm of joins the import was
 * half the cost of a token.
 */
const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function hmacKey(secret: Uint8Array): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', secret as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

export async function signSessionToken(secret: Uint8Array, sessionId: string, userId: string, expiresAt: number): Promise<string> {
  return new SignJWT({ sid: sessionId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(ADMIN)
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(secret);
}

/** The session and user ids, or null for a token that is forged, expired or for another audience. */
export async function verifySessionToken(secret: Uint8Array, token: string): Promise<{ sessionId: string; userId: string } | null> {
  try {
    const { payload } = await jwtVerify(token, secret, { issuer: ISSUER, audience: ADMIN, algorithms: ['HS256'] });
    return typeof payload.sid === 'string' && typeof payload.sub === 'string' ? { sessionId: payload.sid, userId: payload.sub } : null;
  } catch {
    return null;
  }
}

/**
 * A participant token names the participant, the task and its generation: each join spends the
 * current generation and gets the next one, so a copy replayed later is recognised (see
 * ParticipantGuard). Tokens from before generations existed carry none and read as generation 0.
 */
export async function signParticipantToken(secret: Uint8Array, taskId: string, participantId: string, generation: number): Promise<string> {
  return new SignJWT({ task: taskId, gen: generation }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(PARTICIPANT).setSubject(participantId).setIssuedAt().sign(await hmacKey(secret));
}

/** The participant id and generation the token was issued for, when it is genuine and for this task; else null. */
export async function verifyParticipantToken(secret: Uint8Array, token: string, taskId: string): Promise<{ participantId: string; generation: number } | null> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), { issuer: ISSUER, audience: PARTICIPANT, algorithms: ['HS256'] });
    if (payload.task !== taskId || typeof payload.sub !== 'string') return null;
    const generation = payload.gen === undefined ? 0 : payload.gen;
    return typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= 0 ? { participantId: payload.sub, generation } : null;
  } catch {
    return null;
  }
}
