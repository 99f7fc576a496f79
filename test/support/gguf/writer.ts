// Writes a complete GGUF v3 file: header, key/values, tensor infos, then aligned tensor data
// streamed chunk by chunk, so a 230 MB model never sits in memory. Atomic: temp file, then rename.
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { endianness } from "node:os";
import { basename, dirname, join } from "node:path";
import { convertToF16 } from "./f16.js";
import {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgmlType,
  GgufType,
  alignUp,
  ggmlTypeSize,
  type GgufArray,
  type GgufKv,
  type GgufTensorInfo,
  type GgufValue,
} from "./format.js";
import type { Filler } from "./random.js";

export interface TensorToWrite {
  name: string;
  /** Fastest-varying first (GGUF order). */
  dims: readonly number[];
  type: GgmlType;
  /** Called once per write; the returned filler is fed successive chunks in order. */
  fill: () => Filler;
}

export interface WriteGgufResult {
  bytes: number;
  tensorBytes: number;
}

/** Elements per streamed chunk: 4 MiB of F32, enough to keep write() calls cheap. */
const CHUNK_ELEMENTS = 1 << 20;

/** Little-endian byte builder that grows as needed. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private readonly encoder = new TextEncoder();

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number): void { this.ensure(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number): void { this.ensure(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number): void { this.ensure(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.ensure(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number): void { this.ensure(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: bigint | number): void { this.ensure(8); this.buf.writeBigUInt64LE(BigInt(v), this.length); this.length += 8; }
  i64(v: bigint): void { this.ensure(8); this.buf.writeBigInt64LE(v, this.length); this.length += 8; }
  str(s: string): void {
    const bytes = this.encoder.encode(s);
    this.u64(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  zeros(n: number): void { this.ensure(n); this.buf.fill(0, this.length, this.length + n); this.length += n; }
  result(): Buffer { return this.buf.subarray(0, this.length); }
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new TypeError(`GGUF writer: ${what}`);
}

function writeScalar(w: ByteWriter, type: GgufType, v: number | bigint | boolean | string | GgufArray): void {
  switch (type) {
    case GgufType.STRING: check(typeof v === "string", "string value expected"); return w.str(v as string);
    case GgufType.BOOL: check(typeof v === "boolean", "boolean value expected"); return w.u8(v ? 1 : 0);
    case GgufType.UINT64: check(typeof v === "bigint", "bigint value expected"); return w.u64(v as bigint);
    case GgufType.INT64: check(typeof v === "bigint", "bigint value expected"); return w.i64(v as bigint);
    case GgufType.ARRAY: {
      check(typeof v === "object", "array value expected");
      const arr = v as GgufArray;
      w.u32(arr.itemType);
      w.u64(arr.items.length);
      for (const item of arr.items) writeScalar(w, arr.itemType, item);
      return;
    }
  }
  check(typeof v === "number", `number value expected for type ${type}`);
  const n = v as number;
  switch (type) {
    case GgufType.UINT8: return w.u8(n);
    case GgufType.INT8: return w.i8(n);
    case GgufType.UINT16: return w.u16(n);
    case GgufType.INT16: return w.i16(n);
    case GgufType.UINT32: return w.u32(n);
    case GgufType.INT32: return w.i32(n);
    case GgufType.FLOAT32: return w.f32(n);
    case GgufType.FLOAT64: return w.f64(n);
    default: throw new TypeError(`GGUF writer: unknown value type ${String(type)}`);
  }
}

function writeValue(w: ByteWriter, value: GgufValue): void {
  w.u32(value.type);
  writeScalar(w, value.type, value.type === GgufType.ARRAY ? value : value.value);
}

export function tensorByteSize(t: Pick<TensorToWrite, "dims" | "type">): number {
  return t.dims.reduce((a, b) => a * b, 1) * ggmlTypeSize[t.type];
}

function alignmentOf(kvs: readonly GgufKv[]): number {
  const v = kvs.find((kv) => kv.key === "general.alignment")?.value;
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  check(v.type === GgufType.UINT32 && v.value > 0 && v.value % 8 === 0, "general.alignment must be a uint32 multiple of 8");
  return (v as { value: number }).value;
}

/** Lays tensors out back to back, each starting on an alignment boundary. */
export function layoutTensors(
  tensors: readonly Pick<TensorToWrite, "name" | "dims" | "type">[],
  alignment: number,
): { infos: GgufTensorInfo[]; dataBytes: number } {
  let offset = 0;
  const infos = tensors.map((t) => {
    offset = alignUp(offset, alignment);
    const info = { name: t.name, dims: [...t.dims], type: t.type, offset };
    offset += tensorByteSize(t);
    return info;
  });
  return { infos, dataBytes: offset };
}

/**
 * Everything before the tensor data. Without tensors no padding follows, which is how llama.cpp's
 * vocab-only files end, so encoding a vocab file's own key/values reproduces it byte for byte.
 */
export function encodeGgufHeader(kvs: readonly GgufKv[], tensors: readonly GgufTensorInfo[]): Buffer {
  const w = new ByteWriter();
  for (const ch of GGUF_MAGIC) w.u8(ch.charCodeAt(0));
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const kv of kvs) {
    w.str(kv.key);
    writeValue(w, kv.value);
  }
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(t.offset);
  }
  if (tensors.length > 0) w.zeros(alignUp(w.length, alignmentOf(kvs)) - w.length);
  return w.result();
}

/** Writes `path` atomically: concurrent readers see either no file or the whole file. */
export async function writeGguf(
  path: string,
  kvs: readonly GgufKv[],
  tensors: readonly TensorToWrite[],
): Promise<WriteGgufResult> {
  // Tensor bytes go straight from Float32Array memory to disk; that is only right on little-endian hosts.
  if (endianness() !== "LE") throw new Error("GGUF writer supports little-endian hosts only");
  const names = new Set(tensors.map((t) => t.name));
  check(names.size === tensors.length, "duplicate tensor names");
  const alignment = alignmentOf(kvs);
  const { infos, dataBytes } = layoutTensors(tensors, alignment);
  const header = encodeGgufHeader(kvs, infos);

  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  const fh = await open(tmp, "wx");
  try {
    let written = 0;
    const put = async (data: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await fh.write(data, done, data.length - done);
        done += bytesWritten;
      }
      written += data.length;
    };
    await put(header);
    const dataStart = written;
    const f32 = new Float32Array(CHUNK_ELEMENTS);
    const f16 = new Uint16Array(CHUNK_ELEMENTS);
    const padding = Buffer.alloc(alignment);
    for (const [i, t] of tensors.entries()) {
      const pad = dataStart + infos[i].offset - written;
      if (pad > 0) await put(padding.subarray(0, pad));
      const fill = t.fill();
      const total = t.dims.reduce((a, b) => a * b, 1);
      for (let at = 0; at < total; at += CHUNK_ELEMENTS) {
        const n = Math.min(CHUNK_ELEMENTS, total - at);
        const chunk = f32.subarray(0, n);
        fill(chunk);
        if (t.type === GgmlType.F32) {
          await put(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        } else {
          const half = f16.subarray(0, n);
          convertToF16(chunk, half);
          await put(new Uint8Array(half.buffer, half.byteOffset, half.byteLength));
        }
      }
    }
    check(written === dataStart + dataBytes, `wrote ${written} bytes, expected ${dataStart + dataBytes}`);
    // No fsync: these are regenerable fixtures; rename alone gives readers all-or-nothing.
    await fh.close();
    await rename(tmp, path);
    return { bytes: written, tensorBytes: dataBytes };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
