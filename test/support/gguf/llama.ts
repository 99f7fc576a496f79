// The llama architecture as llama.cpp loads it (src/llama-model.cpp, LLM_ARCH_LLAMA): which
// key/values and tensors a model needs, with random weights and a tokenizer copied from a vocab GGUF.
import { GgmlType, GgufType, LlamaFileType, gguf, type GgufKv } from "./format.js";
import { constantFiller, hashSeed, normalFiller } from "./random.js";
import type { GgufHeader } from "./reader.js";
import { writeGguf, type TensorToWrite, type WriteGgufResult } from "./writer.js";

export interface LlamaShape {
  dim: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffnDim: number;
  contextLength: number;
  vocabSize: number;
  type: "f32" | "f16";
  seed: number;
  name: string;
}

/** Weights ~ N(0, 0.02²) like a freshly initialised transformer: activations stay finite, output is gibberish. */
const WEIGHT_STD = 0.02;
const RMS_EPSILON = 1e-5;
const ROPE_FREQ_BASE = 10000;

function checkShape(s: LlamaShape): void {
  const positive = ["dim", "layers", "heads", "kvHeads", "ffnDim", "contextLength", "vocabSize"] as const;
  for (const k of positive) {
    if (!Number.isInteger(s[k]) || s[k] <= 0) throw new RangeError(`llama shape: ${k} must be a positive integer, got ${s[k]}`);
  }
  if (s.dim % s.heads !== 0) throw new RangeError(`llama shape: dim ${s.dim} is not a multiple of heads ${s.heads}`);
  if (s.heads % s.kvHeads !== 0) throw new RangeError(`llama shape: heads ${s.heads} is not a multiple of kvHeads ${s.kvHeads}`);
  if ((s.dim / s.heads) % 2 !== 0) throw new RangeError(`llama shape: head size ${s.dim / s.heads} must be even for RoPE`);
}

/** Names and GGUF dims (fastest-varying first) of every tensor, in the order we write them. */
export function llamaTensorShapes(s: LlamaShape): { name: string; dims: number[] }[] {
  checkShape(s);
  const kvDim = (s.dim / s.heads) * s.kvHeads;
  const out = [
    { name: "token_embd.weight", dims: [s.dim, s.vocabSize] },
    { name: "output_norm.weight", dims: [s.dim] },
    { name: "output.weight", dims: [s.dim, s.vocabSize] },
  ];
  for (let i = 0; i < s.layers; i++) {
    const p = `blk.${i}.`;
    out.push(
      { name: `${p}attn_norm.weight`, dims: [s.dim] },
      { name: `${p}attn_q.weight`, dims: [s.dim, s.dim] },
      { name: `${p}attn_k.weight`, dims: [s.dim, kvDim] },
      { name: `${p}attn_v.weight`, dims: [s.dim, kvDim] },
      { name: `${p}attn_output.weight`, dims: [s.dim, s.dim] },
      { name: `${p}ffn_norm.weight`, dims: [s.dim] },
      { name: `${p}ffn_gate.weight`, dims: [s.dim, s.ffnDim] },
      { name: `${p}ffn_up.weight`, dims: [s.dim, s.ffnDim] },
      { name: `${p}ffn_down.weight`, dims: [s.ffnDim, s.dim] },
    );
  }
  return out;
}

export function llamaParamCount(s: LlamaShape): number {
  return llamaTensorShapes(s).reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
}

function llamaTensors(s: LlamaShape): TensorToWrite[] {
  const weightType = s.type === "f16" ? GgmlType.F16 : GgmlType.F32;
  return llamaTensorShapes(s).map(({ name, dims }) => {
    // Norm vectors stay F32 (as llama.cpp's converter writes them) and are 1 so RMSNorm is the identity scale.
    const isNorm = dims.length === 1;
    return {
      name,
      dims,
      type: isNorm ? GgmlType.F32 : weightType,
      fill: isNorm ? () => constantFiller(1) : () => normalFiller(hashSeed(`${s.seed}/${name}`), WEIGHT_STD),
    };
  });
}

/** The tokenizer.* keys of a vocab file, unchanged and in their original order. */
export function tokenizerKvs(vocab: Pick<GgufHeader, "kvs">): GgufKv[] {
  return vocab.kvs.filter((kv) => kv.key.startsWith("tokenizer."));
}

export function vocabSizeOf(vocab: Pick<GgufHeader, "kvs">): number {
  const tokens = vocab.kvs.find((kv) => kv.key === "tokenizer.ggml.tokens")?.value;
  if (tokens?.type !== GgufType.ARRAY) throw new Error("vocab GGUF has no tokenizer.ggml.tokens array");
  return tokens.items.length;
}

export function llamaKvs(s: LlamaShape, vocab: Pick<GgufHeader, "kvs">): GgufKv[] {
  checkShape(s);
  return [
    { key: "general.architecture", value: gguf.str("llama") },
    { key: "general.name", value: gguf.str(s.name) },
    { key: "general.file_type", value: gguf.u32(s.type === "f16" ? LlamaFileType.MOSTLY_F16 : LlamaFileType.ALL_F32) },
    { key: "general.alignment", value: gguf.u32(32) },
    { key: "llama.context_length", value: gguf.u32(s.contextLength) },
    { key: "llama.embedding_length", value: gguf.u32(s.dim) },
    { key: "llama.block_count", value: gguf.u32(s.layers) },
    { key: "llama.feed_forward_length", value: gguf.u32(s.ffnDim) },
    { key: "llama.attention.head_count", value: gguf.u32(s.heads) },
    { key: "llama.attention.head_count_kv", value: gguf.u32(s.kvHeads) },
    { key: "llama.rope.dimension_count", value: gguf.u32(s.dim / s.heads) },
    { key: "llama.rope.freq_base", value: gguf.f32(ROPE_FREQ_BASE) },
    { key: "llama.attention.layer_norm_rms_epsilon", value: gguf.f32(RMS_EPSILON) },
    { key: "llama.vocab_size", value: gguf.u32(s.vocabSize) },
    ...tokenizerKvs(vocab),
  ];
}

/** Writes a complete random-weight llama model to `path` (atomically). */
export async function writeRandomLlama(
  path: string,
  shape: LlamaShape,
  vocab: Pick<GgufHeader, "kvs">,
): Promise<WriteGgufResult & { params: number }> {
  const vocabSize = vocabSizeOf(vocab);
  if (vocabSize !== shape.vocabSize) throw new RangeError(`shape.vocabSize ${shape.vocabSize} != vocab's ${vocabSize} tokens`);
  const result = await writeGguf(path, llamaKvs(shape, vocab), llamaTensors(shape));
  return { ...result, params: llamaParamCount(shape) };
}
