/**
 * Just enough of the WebAssembly binary format to spell the fold kernel readably (named opcodes
 * instead of a wall of hex) and build it synchronously at start-up, with no toolchain and no fetch.
 */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export const F64 = 0x7c;

export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** Instructions used by the kernel. SIMD ones are prefixed 0xfd with a LEB128 sub-opcode. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  localGet: (i: number) => [0x20, ...uleb(i)],
  localSet: (i: number) => [0x21, ...uleb(i)],
  localTee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Eqz: [0x45],
  i32LtU: [0x49],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Shl: [0x74],
  f32Load: (offset: number) => [0x2a, 2, ...uleb(offset)],
  f32Mul: [0x94],
  f32Const: (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)],
  f64Add: [0xa0],
  f64Mul: [0xa2],
  f64ConvertI32S: [0xb7],
  f64PromoteF32: [0xbb],
  i32x4ExtractLane: (lane: number) => [0xfd, ...uleb(0x1b), lane],
  i32x4Add: [0xfd, ...uleb(0xae)],
  i32x4DotI16x8S: [0xfd, ...uleb(0xba)],
  v128Load: (offset: number) => [0xfd, ...uleb(0x00), 0, ...uleb(offset)],
  v128Load16x4U: (offset: number) => [0xfd, ...uleb(0x04), 0, ...uleb(offset)],
  v128Store: (offset: number) => [0xfd, ...uleb(0x0b), 0, ...uleb(offset)],
  i32x4Splat: [0xfd, ...uleb(0x11)],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  v128And: [0xfd, ...uleb(0x4e)],
  v128Or: [0xfd, ...uleb(0x50)],
  i16x8ExtendLowI8x16S: [0xfd, ...uleb(0x87)],
  i16x8ExtendHighI8x16S: [0xfd, ...uleb(0x88)],
  i32x4ExtendLowI16x8S: [0xfd, ...uleb(0xa7)],
  i32x4ExtendHighI16x8S: [0xfd, ...uleb(0xa8)],
  i32x4Shl: [0xfd, ...uleb(0xab)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4ConvertI32x4S: [0xfd, ...uleb(0xfa)],
} as const;

export interface WasmFunction {
  readonly exportName: string;
  readonly params: readonly number[];
  /** Extra locals after the params, one type per local. */
  readonly locals: readonly number[];
  /** Result types (none when left out). */
  readonly results?: readonly number[];
  /** Instructions, without the final `end`. */
  readonly body: readonly (readonly number[])[];
}

/** A module importing `env.memory` and exporting `functions`. */
export function assembleModule(functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = vec(functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec((f.results ?? []).map((r) => [r]))]));
  const imports = vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]]);
  const funcs = vec(functions.map((_, i) => uleb(i)));
  const exports = vec(functions.map((f, i) => [...name(f.exportName), 0x00, ...uleb(i)]));
  const codes = vec(
    functions.map((f) => {
      const locals = vec(f.locals.map((t) => [1, t]));
      const code = [...locals, ...f.body.flat(), ...op.end];
      return [...uleb(code.length), ...code];
    }),
  );
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codes),
  ]);
}
