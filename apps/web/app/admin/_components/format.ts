export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

export const percent = (x: number | undefined): string => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '—');
export const time = (ms: number): string => new Date(ms).toLocaleTimeString();
export const dateTime = (ms: number): string => new Date(ms).toLocaleString();
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
