'use client';

import { useRef, useState, type PointerEvent } from 'react';
import { toMnistPixels } from '../../lib/digit-pixels.js';
import { LabelPicker } from './label-picker.js';

const CANVAS = 224;

/** Draw a digit with mouse, pen or finger, say which digit it is, and keep it on this device. */
export function DrawDigit({ onAdd }: { readonly onAdd: (pixels: Float32Array, label: number) => Promise<void> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const [label, setLabel] = useState<number | undefined>();
  const [message, setMessage] = useState('');
  const [inked, setInked] = useState(false);

  const ctx = () => canvas.current?.getContext('2d') ?? null;
  const clear = () => {
    const c = ctx();
    if (!c) return;
    c.fillStyle = '#000';
    c.fillRect(0, 0, CANVAS, CANVAS);
    setInked(false);
  };
  const point = (e: PointerEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * CANVAS, y: ((e.clientY - r.top) / r.height) * CANVAS };
  };
  const down = (e: PointerEvent<HTMLCanvasElement>) => {
    const c = ctx();
    if (!c) return;
    if (!inked) clear();
    drawing.current = true;
    e.currentTarget.setPointerCapture(e.pointerId);
    const { x, y } = point(e);
    c.beginPath();
    c.moveTo(x, y);
  };
  const move = (e: PointerEvent<HTMLCanvasElement>) => {
    const c = ctx();
    if (!drawing.current || !c) return;
    const { x, y } = point(e);
    c.lineTo(x, y);
    c.strokeStyle = '#fff';
    c.lineWidth = 16;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.stroke();
    setInked(true);
  };
  const up = () => {
    drawing.current = false;
  };
  const add = async () => {
    if (!canvas.current || label === undefined) return;
    const pixels = toMnistPixels(canvas.current);
    if (!pixels) {
      setMessage('Draw a digit first.');
      return;
    }
    await onAdd(pixels, label);
    setMessage(`Kept a drawn ${label} on this device.`);
    clear();
  };

  return (
    <div className="data-source" data-testid="draw-digit">
      <h3>Draw a digit</h3>
      <canvas
        ref={canvas}
        width={CANVAS}
        height={CANVAS}
        className="draw-canvas"
        aria-label="Drawing area: draw one digit"
        onPointerDown={down}
        onPointerMove={move}
        onPointerUp={up}
        onPointerLeave={up}
        data-testid="draw-canvas"
      />
      <LabelPicker name="draw-label" value={label} onChange={setLabel} />
      <div className="row">
        <button type="button" onClick={() => void add()} disabled={!inked || label === undefined} data-testid="draw-add">
          Keep this example
        </button>
        <button type="button" className="ghost" onClick={clear}>
          Clear
        </button>
      </div>
      <p className="muted small" aria-live="polite">{message}</p>
    </div>
  );
}
