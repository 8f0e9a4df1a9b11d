import { assembleModule, F32, F64, I32, V128, op, type WasmFunction } from './wasm-assembler.js';

/*
 * The fold kernel: running-sum += weight × decoded update, four float lanes at a time (WASM SIMD).
 * Memory is imported so the host sizes it to the model. All functions require whole groups of 16
 * values; the caller folds the tail (< 16 values) in JS. The WAT these functions encode:
 *
 * (func (export "foldInt8") (param $sum i32) (param $q i32) (param $scales i32) (param $chunks i32)
 *                           (param $chunkLen i32) (param $w f32) (local $end i32) (local $s v128) (local $v v128)
 *   (block (br_if 0 (i32.eqz (local.get $chunks)))
 *     (loop $chunk
 *       (local.set $s (f32x4.splat (f32.mul (f32.load (local.get $scales)) (local.get $w))))
 *       (local.set $end (i32.add (local.get $q) (local.get $chunkLen)))
 *       (loop $inner
 *         (local.set $v (v128.load (local.get $q)))
 *         ;; k = 0..3 picks lanes 4k..4k+3 via extend_{low,high}_i8x16_s then extend_{low,high}_i16x8_s
 *         (v128.store offset=16k (local.get $sum)
 *           (f32x4.add (v128.load offset=16k (local.get $sum))
 *                      (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_*_i16x8_s (i16x8.extend_*_i8x16_s (local.get $v))))
 *                                 (local.get $s))))
 *         (local.set $sum (i32.add (local.get $sum) (i32.const 64)))
 *         (br_if $inner (i32.lt_u (local.tee $q (i32.add (local.get $q) (i32.const 16))) (local.get $end))))
 *       (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
 *       (br_if $chunk (local.tee $chunks (i32.sub (local.get $chunks) (i32.const 1)))))))
 *
 * (func (export "foldFloat32") (param $sum i32) (param $x i32) (param $n i32) (param $w f32) (local $end i32) (local $s v128)
 *   (block (br_if 0 (i32.eqz (local.get $n)))
 *     (local.set $s (f32x4.splat (local.get $w)))
 *     (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
 *     (loop $inner
 *       ;; k = 0..3
 *       (v128.store offset=16k (local.get $sum) (f32x4.add (v128.load offset=16k (local.get $sum))
 *                                                          (f32x4.mul (v128.load offset=16k (local.get $x)) (local.get $s))))
 *       (local.set $sum (i32.add (local.get $sum) (i32.const 64)))
 *       (br_if $inner (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 64))) (local.get $end))))))
 *
 * (func (export "foldFloat16") (param $sum i32) (param $h i32) (param $n i32) (param $w f32)
 *                              (local $end i32) (local $s v128) (local $mag v128) (local $sign v128) (local $magic v128) (local $v v128)
 *   ;; A half's magnitude bits shifted left by 13 are a float32 equal to the half × 2^-112 (subnormals
 *   ;; included); multiplying by 2^112 restores it exactly. The sign bit moves from bit 15 to bit 31.
 *   (block (br_if 0 (i32.eqz (local.get $n)))
 *     (local.set $s (f32x4.splat (local.get $w)))
 *     (local.set $mag (i32x4.splat (i32.const 0x7fff)))  (local.set $sign (i32x4.splat (i32.const 0x8000)))
 *     (local.set $magic (f32x4.splat (f32.const 0x1p112)))
 *     (local.set $end (i32.add (local.get $h) (i32.shl (local.get $n) (i32.const 1))))
 *     (loop $inner
 *       ;; k = 0..3
 *       (local.set $v (v128.load16x4_u offset=8k (local.get $h)))
 *       (v128.store offset=16k (local.get $sum) (f32x4.add (v128.load offset=16k (local.get $sum))
 *         (f32x4.mul (f32x4.mul (v128.or (i32x4.shl (v128.and (local.get $v) (local.get $mag)) (i32.const 13))
 *                                        (i32x4.shl (v128.and (local.get $v) (local.get $sign)) (i32.const 16)))
 *                               (local.get $magic))
 *                    (local.get $s))))
 *       (local.set $sum (i32.add (local.get $sum) (i32.const 64)))
 *       (br_if $inner (i32.lt_u (local.tee $h (i32.add (local.get $h) (i32.const 32))) (local.get $end))))))
 */

/** Values per kernel step; callers fold `length % KERNEL_GROUP` trailing values themselves. */
export const KERNEL_GROUP = 16;

const LANE_PICKS = [
  [op.i16x8ExtendLowI8x16S, op.i32x4ExtendLowI16x8S],
  [op.i16x8ExtendLowI8x16S, op.i32x4ExtendHighI16x8S],
  [op.i16x8ExtendHighI8x16S, op.i32x4ExtendLowI16x8S],
  [op.i16x8ExtendHighI8x16S, op.i32x4ExtendHighI16x8S],
] as const;

function foldInt8(): WasmFunction {
  const [sum, q, scales, chunks, chunkLen, w, end, s, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const lanes = LANE_PICKS.flatMap(([widen16, widen32], k) => [
    op.localGet(sum),
    op.localGet(sum), op.v128Load(16 * k),
    op.localGet(v), widen16, widen32, op.f32x4ConvertI32x4S, op.localGet(s), op.f32x4Mul,
    op.f32x4Add,
    op.v128Store(16 * k),
  ]);
  return {
    exportName: 'foldInt8',
    params: [I32, I32, I32, I32, I32, F32],
    locals: [I32, V128, V128],
    body: [
      op.block, op.localGet(chunks), op.i32Eqz, op.brIf(0),
      op.loop,
      op.localGet(scales), op.f32Load(0), op.localGet(w), op.f32Mul, op.f32x4Splat, op.localSet(s),
      op.localGet(q), op.localGet(chunkLen), op.i32Add, op.localSet(end),
      op.loop,
      op.localGet(q), op.v128Load(0), op.localSet(v),
      ...lanes,
      op.localGet(sum), op.i32Const(64), op.i32Add, op.localSet(sum),
      op.localGet(q), op.i32Const(16), op.i32Add, op.localTee(q), op.localGet(end), op.i32LtU, op.brIf(0),
      op.end,
      op.localGet(scales), op.i32Const(4), op.i32Add, op.localSet(scales),
      op.localGet(chunks), op.i32Const(1), op.i32Sub, op.localTee(chunks), op.brIf(0),
      op.end,
      op.end,
    ],
  };
}

function foldFloat32(): WasmFunction {
  const [sum, x, n, w, end, s] = [0, 1, 2, 3, 4, 5];
  const lanes = [0, 1, 2, 3].flatMap((k) => [
    op.localGet(sum),
    op.localGet(sum), op.v128Load(16 * k),
    op.localGet(x), op.v128Load(16 * k), op.localGet(s), op.f32x4Mul,
    op.f32x4Add,
    op.v128Store(16 * k),
  ]);
  return {
    exportName: 'foldFloat32',
    params: [I32, I32, I32, F32],
    locals: [I32, V128],
    body: [
      op.block, op.localGet(n), op.i32Eqz, op.brIf(0),
      op.localGet(w), op.f32x4Splat, op.localSet(s),
      op.localGet(x), op.localGet(n), op.i32Const(2), op.i32Shl, op.i32Add, op.localSet(end),
      op.loop,
      ...lanes,
      op.localGet(sum), op.i32Const(64), op.i32Add, op.localSet(sum),
      op.localGet(x), op.i32Const(64), op.i32Add, op.localTee(x), op.localGet(end), op.i32LtU, op.brIf(0),
      op.end,
      op.end,
    ],
  };
}

function foldFloat16(): WasmFunction {
  const [sum, h, n, w, end, s, mag, sign, magic, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const lanes = [0, 1, 2, 3].flatMap((k) => [
    op.localGet(h), op.v128Load16x4U(8 * k), op.localSet(v),
    op.localGet(sum),
    op.localGet(sum), op.v128Load(16 * k),
    op.localGet(v), op.localGet(mag), op.v128And, op.i32Const(13), op.i32x4Shl,
    op.localGet(v), op.localGet(sign), op.v128And, op.i32Const(16), op.i32x4Shl,
    op.v128Or, op.localGet(magic), op.f32x4Mul, op.localGet(s), op.f32x4Mul,
    op.f32x4Add,
    op.v128Store(16 * k),
  ]);
  return {
    exportName: 'foldFloat16',
    params: [I32, I32, I32, F32],
    locals: [I32, V128, V128, V128, V128, V128],
    body: [
      op.block, op.localGet(n), op.i32Eqz, op.brIf(0),
      op.localGet(w), op.f32x4Splat, op.localSet(s),
      op.i32Const(0x7fff), op.i32x4Splat, op.localSet(mag),
      op.i32Const(0x8000), op.i32x4Splat, op.localSet(sign),
      op.f32Const(2 ** 112), op.f32x4Splat, op.localSet(magic),
      op.localGet(h), op.localGet(n), op.i32Const(1), op.i32Shl, op.i32Add, op.localSet(end),
      op.loop,
      ...lanes,
      op.localGet(sum), op.i32Const(64), op.i32Add, op.localSet(sum),
      op.localGet(h), op.i32Const(32), op.i32Add, op.localTee(h), op.localGet(end), op.i32LtU, op.brIf(0),
      op.end,
      op.end,
    ],
  };
}

/*
 * The int8 norm: Σ over chunks of (Σ q²) × scale², in exactly the JS loop's order and arithmetic
 * (integer squares per chunk, then f64 multiplies and adds), so both give the same bits.
 *
 * (func (export "sumSquaresInt8") (param $q i32) (param $scales i32) (param $chunks i32) (param $chunkLen i32) (result f64)
 *                                 (local $end i32) (local $acc v128) (local $v v128) (local $w v128) (local $sum f64) (local $s f64)
 *   (block (br_if 0 (i32.eqz (local.get $chunks)))
 *     (loop $chunk
 *       (local.set $acc (i32x4.splat (i32.const 0)))
 *       (local.set $end (i32.add (local.get $q) (local.get $chunkLen)))
 *       (loop $inner                ;; 16 int8 → two i16x8 halves, each dotted with itself (pairs summed into i32 lanes)
 *         (local.set $v (v128.load (local.get $q)))
 *         (local.set $acc (i32x4.add (i32x4.add (local.get $acc) (i32x4.dot_i16x8_s (local.tee $w (i16x8.extend_low_i8x16_s (local.get $v))) (local.get $w)))
 *                                    (i32x4.dot_i16x8_s (local.tee $w (i16x8.extend_high_i8x16_s (local.get $v))) (local.get $w))))
 *         (br_if $inner (i32.lt_u (local.tee $q (i32.add (local.get $q) (i32.const 16))) (local.get $end))))
 *       (local.set $sum (f64.add (f64.mul (f64.mul (f64.convert_i32_s (lane0 + lane1 + lane2 + lane3 of $acc))
 *                                                  (local.tee $s (f64.promote_f32 (f32.load (local.get $scales)))))
 *                                         (local.get $s))
 *                                (local.get $sum)))
 *       (local.set $scales (i32.add (local.get $scales) (i32.const 4)))
 *       (br_if $chunk (local.tee $chunks (i32.sub (local.get $chunks) (i32.const 1))))))
 *   (local.get $sum))
 * A chunk's squares fit an i32 (256 × 128² = 2^22), as in the JS loop.
 */
function sumSquaresInt8(): WasmFunction {
  const [q, scales, chunks, chunkLen, end, acc, v, w, sum, s] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const half = (widen: readonly number[]) => [op.localGet(v), widen, op.localTee(w), op.localGet(w), op.i32x4DotI16x8S, op.i32x4Add];
  return {
    exportName: 'sumSquaresInt8',
    params: [I32, I32, I32, I32],
    results: [F64],
    locals: [I32, V128, V128, V128, F64, F64],
    body: [
      op.block, op.localGet(chunks), op.i32Eqz, op.brIf(0),
      op.loop,
      op.i32Const(0), op.i32x4Splat, op.localSet(acc),
      op.localGet(q), op.localGet(chunkLen), op.i32Add, op.localSet(end),
      op.loop,
      op.localGet(q), op.v128Load(0), op.localSet(v),
      op.localGet(acc), ...half(op.i16x8ExtendLowI8x16S), ...half(op.i16x8ExtendHighI8x16S), op.localSet(acc),
      op.localGet(q), op.i32Const(16), op.i32Add, op.localTee(q), op.localGet(end), op.i32LtU, op.brIf(0),
      op.end,
      op.localGet(acc), op.i32x4ExtractLane(0), op.localGet(acc), op.i32x4ExtractLane(1), op.i32Add,
      op.localGet(acc), op.i32x4ExtractLane(2), op.i32Add, op.localGet(acc), op.i32x4ExtractLane(3), op.i32Add,
      op.f64ConvertI32S,
      op.localGet(scales), op.f32Load(0), op.f64PromoteF32, op.localTee(s), op.f64Mul, op.localGet(s), op.f64Mul,
      op.localGet(sum), op.f64Add, op.localSet(sum),
      op.localGet(scales), op.i32Const(4), op.i32Add, op.localSet(scales),
      op.localGet(chunks), op.i32Const(1), op.i32Sub, op.localTee(chunks), op.brIf(0),
      op.end,
      op.end,
      op.localGet(sum),
    ],
  };
}

/** The kernel module's bytes (under 1 KiB). */
export const FOLD_KERNEL_WASM: Uint8Array<ArrayBuffer> = assembleModule([foldInt8(), foldFloat32(), foldFloat16(), sumSquaresInt8()]);

export interface FoldKernelExports {
  foldInt8(sum: number, q: number, scales: number, chunks: number, chunkLen: number, weight: number): void;
  foldFloat32(sum: number, x: number, n: number, weight: number): void;
  foldFloat16(sum: number, h: number, n: number, weight: number): void;
  sumSquaresInt8(q: number, scales: number, chunks: number, chunkLen: number): number;
}
