import { ChorusError } from '../errors/chorus-error.js';
import { createRegistry, type Registry } from '../registry/create-registry.js';
import type { NormedUpdateCodec } from './codec-checks.js';
import { float16Codec } from './float16-codec.js';
import { float32Codec } from './float32-codec.js';
import { hadamard1Codec, hadamard1sCodec, hadamard2Codec, hadamard4Codec, hadamard2sCodec } from './hadamard-codec.js';
import { int8Codec } from './int8-codec.js';
import { topKCodec, topKQ4Codec } from './topk-codec.js';

/** Every codec shipped with Chorus; the codec registry starts with these. */
export const BUILTIN_CODECS: readonly NormedUpdateCodec[] = [
  float32Codec,
  float16Codec,
  int8Codec,
  topKCodec,
  topKQ4Codec,
  hadamard1Codec,
  hadamard2Codec,
  hadamard4Codec,
  hadamard1sCodec,
  hadamard2sCodec,
];

/**
 * Codecs by id; a codec's wire `code` (the payload header byte) must be unique too. The ids a task or
 * an invite may name are still the protocol's CODEC_IDS: every browser in a task must decode what it
 * is sent, so a new codec is a protocol change, and the schema refuses an id old peers lack early.
 */
export const codecRegistry: Registry<NormedUpdateCodec> = createRegistry({
  kind: 'codec',
  idOf: (c) => c.id,
  unknownCode: 'UNKNOWN_CODEC',
  initial: BUILTIN_CODECS,
  validate: (codec, existing) => {
    const clash = existing.find((c) => c.code === codec.code);
    if (clash) throw new ChorusError('INVALID_CONFIG', `codec "${codec.id}": wire code ${codec.code} is already used by "${clash.id}"`);
  },
});

export function registerCodec(codec: NormedUpdateCodec): void {
  codecRegistry.register(codec);
}

export function unregisterCodec(id: string): boolean {
  return codecRegistry.unregister(id);
}

export function getCodec(id: string): NormedUpdateCodec {
  const codec = codecRegistry.get(id);
  if (!codec) {
    throw new ChorusError('UNKNOWN_CODEC', `codec "${String(id)}" is not known (known: ${listCodecs().map((c) => c.id).join(', ')})`);
  }
  return codec;
}

export function getCodecByCode(code: number): NormedUpdateCodec {
  const codec = codecRegistry.list().find((c) => c.code === code);
  if (!codec) {
    throw new ChorusError('UNKNOWN_CODEC', `codec code ${code} is not known (known: ${listCodecs().map((c) => `${c.code} = ${c.id}`).join(', ')})`);
  }
  return codec;
}

export function listCodecs(): readonly NormedUpdateCodec[] {
  return codecRegistry.list();
}
