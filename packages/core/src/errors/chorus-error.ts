/**
 * One error type for every boundary (tRPC-style): a `code` from a closed map, a plain-words message,
 * whether retrying can help, and an optional cause. Anything unknown becomes INTERNAL.
 */
export const ERROR_CODES = {
  BAD_REQUEST: { retryable: false },
  UNSUPPORTED_PROTOCOL: { retryable: false },
  UNAUTHORIZED: { retryable: false },
  FORBIDDEN: { retryable: false },
  NOT_FOUND: { retryable: false },
  UNKNOWN_CODEC: { retryable: false },
  SHAPE_MISMATCH: { retryable: false },
  NON_FINITE: { retryable: false },
  /** Well-formed but outside what the task accepts (an update norm, a scale, an example count). */
  OUT_OF_BOUNDS: { retryable: false },
  PAYLOAD_TOO_LARGE: { retryable: false },
  STALE_VERSION: { retryable: true },
  NOT_SELECTED: { retryable: true },
  ROUND_CLOSED: { retryable: true },
  DUPLICATE_UPDATE: { retryable: false },
  RATE_LIMITED: { retryable: true },
  TASK_NOT_RUNNING: { retryable: true },
  BUDGET_EXHAUSTED: { retryable: false },
  INVALID_CONFIG: { retryable: false },
  UNAVAILABLE: { retryable: true },
  TIMEOUT: { retryable: true },
  INTERNAL: { retryable: true },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** The JSON shape an error takes on the wire. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
}

export class ChorusError extends Error {
  override readonly name = 'ChorusError';
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }

  /** Wrap anything thrown into a ChorusError; unknown errors become INTERNAL (their message kept). */
  static from(err: unknown): ChorusError {
    if (err instanceof ChorusError) return err;
    if (err && typeof err === 'object' && 'code' in err && isErrorCode((err as { code: unknown }).code)) {
      const e = err as { code: ErrorCode; message?: unknown };
      return new ChorusError(e.code, typeof e.message === 'string' ? e.message : e.code);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new ChorusError('INTERNAL', message, { cause: err });
  }

  static fromWire(w: WireError): ChorusError {
    return new ChorusError(isErrorCode(w.code) ? w.code : 'INTERNAL', w.message);
  }
}
