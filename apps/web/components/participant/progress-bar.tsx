export interface ProgressBarProps {
  readonly label: string;
  readonly fraction: number;
  readonly detail?: string;
  readonly testId: string;
}

export function ProgressBar({ label, fraction, detail, testId }: ProgressBarProps) {
  const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
  return (
    <div className="progress" data-testid={testId} data-value={pct}>
      <div className="progress-label">
        <span>{label}</span>
        <span className="muted">{detail ? `${detail} · ` : ''}{pct}%</span>
      </div>
      <div className="progress-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
        <div className={`progress-fill${pct === 100 ? ' done' : ''}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
