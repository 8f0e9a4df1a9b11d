export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MB`;
}

export function formatPercent(fraction: number | undefined): string {
  return fraction === undefined || !Number.isFinite(fraction) ? '—' : `${(fraction * 100).toFixed(1)}%`;
}

export function formatRate(samplesPerSecond: number): string {
  if (!(samplesPerSecond > 0)) return '—';
  return `${samplesPerSecond >= 100 ? Math.round(samplesPerSecond) : samplesPerSecond.toFixed(1)} examples/s`;
}
