'use client';

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * One metric per committed round, drawn with uPlot and updated in place as rounds arrive. The
 * point count is mirrored in `data-points` so a test (or a curious operator) can read it.
 */
export function MetricChart({ title, label, rounds, values, testId, asPercent = false }: { title: string; label: string; rounds: number[]; values: number[]; testId: string; asPercent?: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const chart = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: 'round' }, { label, values: (_u, ticks) => ticks.map((t) => (asPercent ? `${Math.round(t * 100)}%` : String(Number(t.toFixed(3))))) }],
        series: [{ label: 'round' }, { label, stroke: '#2f6fde', width: 2, points: { show: true, size: 6 } }],
      },
      [[], []],
      el,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [label, asPercent]);

  useEffect(() => {
    plot.current?.setData([rounds, values]);
  }, [rounds, values]);

  return (
    <figure className="chart" data-testid={testId} data-points={values.length} data-last={values.at(-1) ?? ''}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
      {values.length === 0 && <p className="muted small">No committed round yet.</p>}
    </figure>
  );
}
