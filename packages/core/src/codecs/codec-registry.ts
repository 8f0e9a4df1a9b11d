import { ChorusError } from '../errors/chorus-error.js';
import type { CodecId } from './codec.js';
import type { NormedUpdateCodec } from './codec-checks.js';
import { float16Codec } from './float16-codec.js';
import { float32Codec } from './float32-codec.js';
import { int8Codec } from './int8-codec.js';

/** Codecs by id and by wire code. Adding a codec means adding it to this list, nothing else. */
const CODECS: readonly NormedUpdateCodec[] = [float32Codec, float16Codec, int8Codec];

const byId = new Map<string, NormedUpdateCodec>(CODECS.map((c) => [c.id, c]));
const byCode = new Map<number, NormedUpdateCodec>(CODECS.map((c) => [c.code, c]));

export function getCodec(id: CodecId): NormedUpdateCodec {
  const codec = byId.get(id);
  if (!codec) {
    throw new ChorusError('UNKNOWN_CODEC', `codec "${String(id)}" is not known (known: ${[...byId.keys()].join(', ')})`);
  }
  return codec;
}

export function getCodecByCode(code: number): NormedUpdateCodec {
  const codec = byCode.get(code);
  if (!codec) {
    throw new ChorusError('UNKNOWN_CODEC', `codec code ${code} is not known (known: ${CODECS.map((c) => `${c.code} = ${c.id}`).join(', ')})`);
  }
  return codec;
}

export function listCodecs(): readonly NormedUpdateCodec[] {
  return CODECS;
}
