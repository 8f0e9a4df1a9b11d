/**
 * The `k` largest-magnitude entries of `values`, as increasing indices. Linear time: a quickselect
 * over a copy of |x| finds the k-th largest magnitude, then one pass takes everything above it and
 * as many ties as are needed.
 */
export function topKIndices(values: Float32Array, k: number): Uint32Array {
  const n = values.length;
  const out = new Uint32Array(k);
  if (k === 0) return out;
  if (k >= n) {
    for (let i = 0; i < n; i++) out[i] = i;
    return out;
  }
  const abs = new Float32Array(n);
  for (let i = 0; i < n; i++) abs[i] = Math.abs(values[i]!);
  const threshold = select(abs, n - k);
  let above = 0;
  for (let i = 0; i < n; i++) if (Math.abs(values[i]!) > threshold) above++;
  let ties = k - above;
  let at = 0;
  for (let i = 0; i < n && at < k; i++) {
    const a = Math.abs(values[i]!);
    if (a > threshold || (a === threshold && ties-- > 0)) out[at++] = i;
  }
  return out;
}

/** The value that would sit at position `rank` if `a` were sorted ascending (reorders `a`). */
function select(a: Float32Array, rank: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const pivot = median3(a[lo]!, a[(lo + hi) >>> 1]!, a[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (rank <= j) hi = j;
    else if (rank >= i) lo = i;
    else return a[rank]!;
  }
  return a[rank]!;
}

function median3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}
