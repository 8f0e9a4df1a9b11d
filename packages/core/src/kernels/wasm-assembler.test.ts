import { describe, expect, it } from 'vitest';
import { assembleModule, I32, op, sleb, uleb } from './wasm-assembler.js';

describe('wasm assembler', () => {
  it('writes LEB128 integers as the WebAssembly spec does', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(0x8000)).toEqual([0x80, 0x80, 0x02]);
  });

  it('assembles a module that runs: an i32 store through imported memory', () => {
    // (func (export "put") (param $at i32) (param $v i32) (i32.store (local.get $at) (local.get $v)))
    const bytes = assembleModule([
      { exportName: 'put', params: [I32, I32], locals: [], body: [op.localGet(0), op.localGet(1), [0x36, 2, 0]] },
    ]);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    (exports.put as (at: number, v: number) => void)(8, 0x01020304);
    expect([...new Uint8Array(memory.buffer, 8, 4)]).toEqual([4, 3, 2, 1]);
  });
});
