// Reads the key/value section (and tensor infos) of a GGUF v3 file, keeping exact value types.
// Used to copy a tokenizer from a ggml-vocab-*.gguf and to check files we wrote.
import { open } from "node:fs/promises";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufType,
  alignUp,
  type GgmlType,
  type GgufArray,
  type GgufKv,
  type GgufTensorInfo,
  type GgufValue,
} from "./format.js";

export interface GgufHeader {
  version: number;
  kvs: GgufKv[];
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset where tensor data starts. */
  dataOffset: number;
}

/** Thrown by the cursor when the prefix read so far is too short; the reader retries with more. */
class NeedMoreBytes extends Error {}

class Cursor {
  pos = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  constructor(private readonly buf: Buffer, private readonly complete: boolean) {}

  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.complete) throw new Error(`GGUF truncated: need ${n} bytes at offset ${this.pos}`);
    throw new NeedMoreBytes();
  }
  u8(): number { this.need(1); return this.buf.readUInt8(this.pos++); }
  i8(): number { this.need(1); return this.buf.readInt8(this.pos++); }
  u16(): number { this.need(2); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v; }
  i16(): number { this.need(2); const v = this.buf.readInt16LE(this.pos); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  i32(): number { this.need(4); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
  f32(): number { this.need(4); const v = this.buf.readFloatLE(this.pos); this.pos += 4; return v; }
  f64(): number { this.need(8); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  u64(): bigint { this.need(8); const v = this.buf.readBigUInt64LE(this.pos); this.pos += 8; return v; }
  i64(): bigint { this.need(8); const v = this.buf.readBigInt64LE(this.pos); this.pos += 8; return v; }
  /** A u64 used as a count or size; anything past 2^53 is a corrupt file, not a real size. */
  size(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF size field too large: ${v}`);
    return Number(v);
  }
  str(): string {
    const len = this.size();
    this.need(len);
    // fatal: invalid UTF-8 would not survive a decode/encode round trip, so fail loudly. ignoreBOM (above)
    // keeps a leading U+FEFF: Phi-3 has a token that is exactly the BOM, which a default decoder drops.
    const s = this.decoder.decode(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
}

function readScalar(c: Cursor, type: GgufType): number | bigint | boolean | string | GgufArray {
  switch (type) {
    case GgufType.UINT8: return c.u8();
    case GgufType.INT8: return c.i8();
    case GgufType.UINT16: return c.u16();
    case GgufType.INT16: return c.i16();
    case GgufType.UINT32: return c.u32();
    case GgufType.INT32: return c.i32();
    case GgufType.FLOAT32: return c.f32();
    case GgufType.FLOAT64: return c.f64();
    case GgufType.UINT64: return c.u64();
    case GgufType.INT64: return c.i64();
    case GgufType.BOOL: return c.u8() !== 0;
    case GgufType.STRING: return c.str();
    case GgufType.ARRAY: {
      const itemType = c.u32() as GgufType;
      const count = c.size();
      const items: Array<number | bigint | boolean | string | GgufArray> = new Array(count);
      for (let i = 0; i < count; i++) items[i] = readScalar(c, itemType);
      return { type: GgufType.ARRAY, itemType, items };
    }
    default:
      throw new Error(`GGUF: unknown value type ${String(type)}`);
  }
}

function readValue(c: Cursor): GgufValue {
  const type = c.u32() as GgufType;
  const v = readScalar(c, type);
  if (type === GgufType.ARRAY) return v as GgufArray;
  // The pairing of type and JS value is guaranteed by readScalar's switch.
  return { type, value: v } as GgufValue;
}

function parse(buf: Buffer, complete: boolean): GgufHeader {
  const c = new Cursor(buf, complete);
  const magic = String.fromCharCode(c.u8(), c.u8(), c.u8(), c.u8());
  if (magic !== GGUF_MAGIC) throw new Error(`not a GGUF file (magic ${JSON.stringify(magic)})`);
  const version = c.u32();
  if (version !== 3) throw new Error(`unsupported GGUF version ${version} (only v3)`);
  const tensorCount = c.size();
  const kvCount = c.size();
  const kvs: GgufKv[] = [];
  for (let i = 0; i < kvCount; i++) kvs.push({ key: c.str(), value: readValue(c) });

  const alignmentKv = kvs.find((kv) => kv.key === "general.alignment")?.value;
  const alignment = alignmentKv?.type === GgufType.UINT32 ? alignmentKv.value : GGUF_DEFAULT_ALIGNMENT;

  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str();
    const nDims = c.u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.size());
    const type = c.u32() as GgmlType;
    const offset = c.size();
    tensors.push({ name, dims, type, offset });
  }
  return { version, kvs, tensors, alignment, dataOffset: alignUp(c.pos, alignment) };
}

/**
 * Parses everything before the tensor data. Reads a growing prefix of the file rather than all of
 * it, so checking a 230 MB model costs about a megabyte of I/O.
 */
export async function readGgufHeader(path: string): Promise<GgufHeader> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    for (let want = Math.min(size, 1 << 20); ; want = Math.min(size, want * 4)) {
      const buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, 0);
      try {
        return parse(buf.subarray(0, bytesRead), bytesRead >= size);
      } catch (err) {
        if (!(err instanceof NeedMoreBytes) || want >= size) throw err;
      }
    }
  } finally {
    await fh.close();
  }
}

/** Looks a key up; undefined when absent. */
export function getKv(header: Pick<GgufHeader, "kvs">, key: string): GgufValue | undefined {
  return header.kvs.find((kv) => kv.key === key)?.value;
}
