import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ChorusError, ERROR_CODES, errorPolicy, isErrorCode, type ErrorCode } from './chorus-error.js';
import { describeZodError, describeZodProblem, zodChorusError } from './zod-error.js';
import { wireErrorSchema } from '../protocol/messages.js';

describe('error policy', () => {
  it('gives every code an HTTP status, a retryable flag and a round-over flag', () => {
    for (const [code, p] of Object.entries(ERROR_CODES)) {
      expect(Number.isInteger(p.status) && p.status >= 400 && p.status < 600, code).toBe(true);
      expect(typeof p.retryable, code).toBe('boolean');
      expect(typeof p.roundOver, code).toBe('boolean');
    }
  });

  it('carries the policy on every error and on the wire', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const e = new ChorusError(code, 'x');
      expect([e.status, e.retryable, e.roundOver]).toEqual([ERROR_CODES[code].status, ERROR_CODES[code].retryable, ERROR_CODES[code].roundOver]);
      expect(wireErrorSchema.parse(e.toWire())).toEqual({ code, message: 'x', retryable: ERROR_CODES[code].retryable });
    }
  });

  it('keeps the statuses routes answered with before the policy moved to core', () => {
    const status = (c: ErrorCode) => ERROR_CODES[c].status;
    expect([status('BAD_REQUEST'), status('UNAUTHORIZED'), status('FORBIDDEN'), status('NOT_FOUND'), status('TASK_NOT_RUNNING')]).toEqual([400, 401, 403, 404, 409]);
    expect([status('PAYLOAD_TOO_LARGE'), status('RATE_LIMITED'), status('INTERNAL'), status('UNAVAILABLE'), status('TIMEOUT')]).toEqual([413, 429, 500, 503, 504]);
  });

  it('says a round is over for the refusals that end a participant’s slot, whatever their retryable flag', () => {
    const over = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].roundOver).sort();
    expect(over).toEqual(['DUPLICATE_UPDATE', 'NOT_SELECTED', 'ROUND_CLOSED', 'SHAPE_MISMATCH', 'STALE_UPDATE', 'STALE_VERSION', 'TASK_NOT_RUNNING']);
  });

  it('treats an unknown code as INTERNAL', () => {
    expect(isErrorCode('NOPE')).toBe(false);
    expect(errorPolicy('NOPE')).toBe(ERROR_CODES.INTERNAL);
    expect(ChorusError.fromWire({ code: 'NOPE' as ErrorCode, message: 'm', retryable: false }).code).toBe('INTERNAL');
  });

  it('keeps the path across the wire', () => {
    const e = new ChorusError('BAD_REQUEST', 'join.taskId: too long', { path: 'join.taskId' });
    expect(e.toWire()).toEqual({ code: 'BAD_REQUEST', message: 'join.taskId: too long', retryable: false, path: 'join.taskId' });
    expect(ChorusError.fromWire(e.toWire()).path).toBe('join.taskId');
  });
});

describe('zod errors in plain words', () => {
  const schema = z.object({ a: z.object({ b: z.number().int('must be an integer') }) }).strict();

  it('names the field by its full path', () => {
    const r = schema.safeParse({ a: { b: 1.5 } });
    expect(describeZodProblem(r.error!, 'config')).toEqual({ path: 'config.a.b', message: 'must be an integer' });
    expect(describeZodError(r.error!, 'config')).toBe('config.a.b: must be an integer');
    expect(describeZodError(r.error!)).toBe('a.b: must be an integer');
  });

  it('names an unknown key', () => {
    const r = schema.safeParse({ a: { b: 1 }, zz: 1 });
    expect(describeZodError(r.error!, 'strategy.options')).toBe('strategy.options.zz: unknown option');
  });

  it('makes a ChorusError with the path', () => {
    const e = zodChorusError('BAD_REQUEST', schema.safeParse({ a: {} }).error!, 'join');
    expect([e.code, e.path, e.message.startsWith('join.a.b: ')]).toEqual(['BAD_REQUEST', 'join.a.b', true]);
  });
});
