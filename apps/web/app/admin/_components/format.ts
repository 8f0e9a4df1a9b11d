export const percent = (x: number | undefined): string => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '—');
export const time = (ms: number): string => new Date(ms).toLocaleTimeString();
export const dateTime = (ms: number): string => new Date(ms).toLocaleString();
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
