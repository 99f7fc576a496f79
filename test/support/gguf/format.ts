// GGUF v3 constants and value types, as in ggml's docs/gguf.md. Only what a llama model needs.

export const GGUF_MAGIC = "GGUF";
export const GGUF_VERSION = 3;
/** llama.cpp's default; we also write it as `general.alignment` so readers need not assume it. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (`gguf_metadata_value_type`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufType = (typeof GgufType)[keyof typeof GgufType];

export type GgufNumberType =
  | typeof GgufType.UINT8
  | typeof GgufType.INT8
  | typeof GgufType.UINT16
  | typeof GgufType.INT16
  | typeof GgufType.UINT32
  | typeof GgufType.INT32
  | typeof GgufType.FLOAT32
  | typeof GgufType.FLOAT64;
export type GgufBigIntType = typeof GgufType.UINT64 | typeof GgufType.INT64;

/**
 * A metadata value with its exact on-disk type kept, so a key copied from one file to another is
 * re-encoded byte for byte (an int32 stays int32, a float32 array stays float32).
 */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: typeof GgufType.BOOL; value: boolean }
  | { type: typeof GgufType.STRING; value: string }
  | GgufArray;

/** Arrays are homogeneous; items are plain JS values (nested arrays as GgufArray) to keep 32k-token vocabularies cheap. */
export interface GgufArray {
  type: typeof GgufType.ARRAY;
  itemType: GgufType;
  items: ReadonlyArray<number | bigint | boolean | string | GgufArray>;
}

export interface GgufKv {
  key: string;
  value: GgufValue;
}

/** Tensor element types (`ggml_type`); we only write the unquantized ones. */
export const GgmlType = { F32: 0, F16: 1 } as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

export const ggmlTypeSize: Record<GgmlType, number> = { [GgmlType.F32]: 4, [GgmlType.F16]: 2 };

/** `general.file_type` (`llama_ftype`): ALL_F32 = 0, MOSTLY_F16 = 1. */
export const LlamaFileType = { ALL_F32: 0, MOSTLY_F16: 1 } as const;

export interface GgufTensorInfo {
  name: string;
  /** Fastest-varying first, as GGUF stores them: token_embd.weight is [n_embd, n_vocab]. */
  dims: readonly number[];
  type: GgmlType;
  /** Byte offset from the start of the tensor data section. */
  offset: number;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

// Small constructors so call sites read as the spec's types.
export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
};
