import type { EncodedUpdate, RoundAggregator } from '../strategy.js';

/** A view of an update multiplied by `scale`; folds stay streaming (no decode). */
export function scaleUpdate(u: EncodedUpdate, scale: number): EncodedUpdate {
  return {
    codec: u.codec,
    layout: u.layout,
    length: u.length,
    byteLength: u.byteLength,
    decode(out?: Float32Array) {
      const v = u.decode(out);
      for (let i = 0; i < v.length; i++) v[i]! *= scale;
      return v;
    },
    foldInto(target: Float32Array, weight: number) {
      u.foldInto(target, weight * scale);
    },
    l2Norm() {
      return u.l2Norm() * scale;
    },
  };
}

/**
 * Norm bounding (Sun et al. 2019): every update whose L2 norm exceeds `clipNorm` is scaled down to
 * it before the inner aggregator sees it. Streaming when the inner aggregator is.
 */
export function createNormBoundAggregator(inner: RoundAggregator, clipNorm: number): RoundAggregator {
  let clipped = 0;
  let accepted = 0;
  return {
    streaming: inner.streaming,
    add(u) {
      const norm = u.update.l2Norm();
      if (!Number.isFinite(norm)) return { status: 'rejected', code: 'NON_FINITE', reason: 'update norm is not finite' };
      const clip = norm > clipNorm;
      const outcome = inner.add(clip ? { ...u, update: scaleUpdate(u.update, clipNorm / norm) } : u);
      if (outcome.status !== 'accepted') return outcome;
      accepted++;
      if (!clip) return outcome;
      clipped++;
      const note = `clipped from ${norm.toPrecision(4)} to ${clipNorm}`;
      return { status: 'accepted', note: outcome.note ? `${outcome.note}; ${note}` : note };
    },
    finish(failures) {
      const r = inner.finish(failures);
      if (!r) return null;
      return { ...r, metrics: { ...r.metrics, normBound: clipNorm, normBoundClippedFraction: accepted ? clipped / accepted : 0 } };
    },
  };
}
