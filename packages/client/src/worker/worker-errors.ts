import { transferHandlers } from 'comlink';
import { ChorusError, isErrorCode } from '@chorus/core';

interface SerializedThrow {
  isError: boolean;
  value: unknown;
}

/**
 * comlink keeps an error's message and stack across the worker boundary but drops its fields, so a
 * ChorusError would arrive as a plain Error without its `code`. This handler keeps the code, so the
 * page can tell "no data on this device" (BAD_REQUEST) from a crash (INTERNAL). Install it on both sides.
 */
export function installWorkerErrorTransfer(): void {
  const original = transferHandlers.get('throw')!;
  transferHandlers.set('throw', {
    canHandle: original.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      if (value instanceof Error) {
        const code = (value as { code?: unknown }).code;
        const serialized: SerializedThrow = {
          isError: true,
          value: { message: value.message, name: value.name, stack: value.stack, code: isErrorCode(code) ? code : undefined },
        };
        return [serialized, []];
      }
      return [{ isError: false, value } satisfies SerializedThrow, []];
    },
    deserialize(serialized: unknown) {
      const s = serialized as SerializedThrow;
      if (!s.isError) throw s.value;
      const v = s.value as { message: string; stack?: string; code?: unknown; name?: string };
      const err = isErrorCode(v.code) ? new ChorusError(v.code, v.message) : Object.assign(new Error(v.message), { name: v.name ?? 'Error' });
      if (v.stack) err.stack = v.stack;
      throw err;
    },
  });
}
