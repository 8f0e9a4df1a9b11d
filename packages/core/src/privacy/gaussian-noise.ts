import type { RandomSource } from '../codecs/codec.js';
import { ChorusError } from '../errors/chorus-error.js';

/**
 * Uniform [0, 1) numbers with 53 random bits each from the platform CSPRNG (Web Crypto, present in
 * browsers and as globalThis.crypto in Node 20). Privacy noise must not come from a seedable PRNG:
 * whoever guesses the seed can subtract the noise.
 */
export function createSecureRandom(): RandomSource {
  const cryptoApi = (globalThis as { crypto?: { getRandomValues<T extends ArrayBufferView>(a: T): T } }).crypto;
  if (!cryptoApi?.getRandomValues) throw new ChorusError('UNAVAILABLE', 'createSecureRandom: globalThis.crypto.getRandomValues is not available');
  // getRandomValues fills at most 65,536 bytes per call.
  const pool = new Uint32Array(16_384);
  let at = pool.length;
  return () => {
    if (at + 2 > pool.length) {
      cryptoApi.getRandomValues(pool);
      at = 0;
    }
    const hi = pool[at++]! >>> 5; // 27 bits
    const lo = pool[at++]! >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

/** Adds N(0, std²) to every entry of `out` (Box–Muller, both outputs used). */
export function addGaussianNoise(out: Float32Array, std: number, random: RandomSource): void {
  if (std === 0) return;
  for (let i = 0; i < out.length; i += 2) {
    let u = 0;
    while (u === 0) u = random();
    const r = std * Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * random();
    out[i]! += r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1]! += r * Math.sin(t);
  }
}

/** One N(0, std²) sample. */
export function gaussianSample(std: number, random: RandomSource): number {
  const one = new Float32Array(1);
  addGaussianNoise(one, std, random);
  return one[0]!;
}
