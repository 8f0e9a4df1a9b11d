/**
 * Turns a drawing or a photo into an MNIST-like example: 28×28 grey levels in [0, 1], ink bright
 * on dark, the digit scaled into the central 20×20 box like the original dataset.
 */
const SIZE = 28;
const BOX = 20;

type Drawable = CanvasImageSource & { width: number; height: number };

function greyLevels(source: Drawable): { values: Float32Array; width: number; height: number } {
  const width = source.width;
  const height = source.height;
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(source, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const values = new Float32Array(width * height);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const alpha = rgba[i * 4 + 3]! / 255;
    const v = ((rgba[i * 4]! + rgba[i * 4 + 1]! + rgba[i * 4 + 2]!) / (3 * 255)) * alpha;
    values[i] = v;
    sum += v;
  }
  // Photos of ink on paper are dark on light: flip them so ink is bright, as in MNIST.
  if (sum / values.length > 0.5) for (let i = 0; i < values.length; i++) values[i] = 1 - values[i]!;
  return { values, width, height };
}

/** Returns undefined when the image holds no ink at all. */
export function toMnistPixels(source: Drawable): Float32Array | undefined {
  const { values, width, height } = greyLevels(source);
  let minX = width, minY = height, maxX = -1, maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (values[y * width + x]! > 0.2) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x);
        minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      }
    }
  }
  if (maxX < 0) return undefined;
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const scale = BOX / Math.max(w, h);
  const crop = new OffscreenCanvas(SIZE, SIZE);
  const ctx = crop.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = 'black';
  ctx.fillRect(0, 0, SIZE, SIZE);
  const inked = new OffscreenCanvas(width, height);
  const ictx = inked.getContext('2d')!;
  const img = ictx.createImageData(width, height);
  for (let i = 0; i < values.length; i++) {
    const g = Math.round(values[i]! * 255);
    img.data[i * 4] = g; img.data[i * 4 + 1] = g; img.data[i * 4 + 2] = g; img.data[i * 4 + 3] = 255;
  }
  ictx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  const dw = w * scale;
  const dh = h * scale;
  ctx.drawImage(inked, minX, minY, w, h, (SIZE - dw) / 2, (SIZE - dh) / 2, dw, dh);
  const rgba = ctx.getImageData(0, 0, SIZE, SIZE).data;
  const out = new Float32Array(SIZE * SIZE);
  for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4]! / 255;
  return out;
}
