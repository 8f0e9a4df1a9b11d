/**
 * One error type for every boundary (tRPC-style): a `code` from a closed map, a plain-words message,
 * whether retrying can help, and an optional cause. Anything unknown becomes INTERNAL.
 */

/** What a code means to whoever receives it; see ERROR_CODES. */
export interface ErrorPolicy {
  /** The HTTP status a route answers with. */
  readonly status: number;
  /** Whether the same request may succeed if sent again later (after a backoff). */
  readonly retryable: boolean;
  /**
   * Whether the participant's slot in the current round is gone: retrying the upload within the
   * round cannot help, and an upload saved for the round can be dropped.
   */
  readonly roundOver: boolean;
}

const policy = (status: number, retryable: boolean, roundOver = false): ErrorPolicy => ({ status, retryable, roundOver });

/**
 * The error policy, one total record: every code carries its HTTP status and whether a client may
 * retry, so no caller keeps its own list. Round-refusals answer 400 over HTTP (they are only ever
 * sent over the socket, where the status is unused).
 */
export const ERROR_CODES = {
  BAD_REQUEST: policy(400, false),
  UNSUPPORTED_PROTOCOL: policy(400, false),
  UNAUTHORIZED: policy(401, false),
  FORBIDDEN: policy(403, false),
  NOT_FOUND: policy(404, false),
  UNKNOWN_CODEC: policy(400, false),
  /** The update does not fit the model: re-sending the same bytes cannot help. */
  SHAPE_MISMATCH: policy(400, false, true),
  NON_FINITE: policy(400, false),
  /** Well-formed but outside what the task accepts (an update norm, a scale, an example count). */
  OUT_OF_BOUNDS: policy(400, false),
  PAYLOAD_TOO_LARGE: policy(413, false),
  STALE_VERSION: policy(400, true, true),
  /** Asynchronous tasks: the update trained on a version more than `async.maxStaleness` behind; train again on the latest. */
  STALE_UPDATE: policy(400, true, true),
  NOT_SELECTED: policy(400, true, true),
  ROUND_CLOSED: policy(400, true, true),
  /** The server already holds this participant's update for the round. */
  DUPLICATE_UPDATE: policy(400, false, true),
  RATE_LIMITED: policy(429, true),
  TASK_NOT_RUNNING: policy(409, true, true),
  /** A server process's lease on a task was taken over (its fencing token is stale): it may not commit. */
  NOT_TASK_OWNER: policy(409, false),
  BUDGET_EXHAUSTED: policy(400, false),
  INVALID_CONFIG: policy(400, false),
  UNAVAILABLE: policy(503, true),
  TIMEOUT: policy(504, true),
  INTERNAL: policy(500, true),
} as const satisfies Record<string, ErrorPolicy>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** The policy for any code string; one that is not ours is treated as INTERNAL. */
export function errorPolicy(code: string): ErrorPolicy {
  return ERROR_CODES[isErrorCode(code) ? code : 'INTERNAL'];
}

/** The JSON shape an error takes on the wire. `path` names the field that was wrong, when one was. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  readonly path?: string;
}

export class ChorusError extends Error {
  override readonly name = 'ChorusError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /** The field that was wrong (`update:begin.byteLength`), when the error is about one. */
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.path = options?.path;
  }

  /** The HTTP status for this error's code. */
  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** Whether this error ends the participant's part in the current round (see ErrorPolicy). */
  get roundOver(): boolean {
    return ERROR_CODES[this.code].roundOver;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable, ...(this.path !== undefined ? { path: this.path } : {}) };
  }

  /** Wrap anything thrown into a ChorusError; unknown errors become INTERNAL (their message kept). */
  static from(err: unknown): ChorusError {
    if (err instanceof ChorusError) return err;
    if (err && typeof err === 'object' && 'code' in err && isErrorCode((err as { code: unknown }).code)) {
      const e = err as { code: ErrorCode; message?: unknown; path?: unknown };
      return new ChorusError(e.code, typeof e.message === 'string' ? e.message : e.code, typeof e.path === 'string' ? { path: e.path } : undefined);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new ChorusError('INTERNAL', message, { cause: err });
  }

  static fromWire(w: WireError): ChorusError {
    return new ChorusError(isErrorCode(w.code) ? w.code : 'INTERNAL', w.message, typeof w.path === 'string' ? { path: w.path } : undefined);
  }
}
