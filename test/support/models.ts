// Where tests and benchmarks get models: the shared real GGUF files (found through a setting),
// and random-weight llama models of any size generated on demand and cached by spec.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureFile } from "./gguf/cache.js";
import { llamaParamCount, vocabSizeOf, writeRandomLlama, type LlamaShape } from "./gguf/llama.js";
import { readGgufHeader } from "./gguf/reader.js";

export type TestModelName =
  | "stories260K"
  | "llama-2-tiny-random"
  | "tiny-chat-phi3-random"
  | "ggml-vocab-phi-3"
  | "ggml-vocab-llama-spm"
  | "ggml-vocab-bert-bge";

export type VocabName = "phi-3" | "llama-spm";

export interface GeneratedModelSpec {
  /** Tokenizer (and, for phi-3, chat template) source: ggml-vocab-<vocab>.gguf. */
  vocab: VocabName;
  dim: number;
  layers: number;
  heads: number;
  /** Defaults to `heads` (no grouped-query attention). */
  kvHeads?: number;
  /** Defaults to llama's 8/3·dim rounded up to a multiple of 32. */
  ffnDim?: number;
  /** Defaults to 2048. */
  contextLength?: number;
  /** Defaults to "f32" (fastest on CPU). Norm vectors are F32 either way. */
  type?: "f32" | "f16";
  /** Defaults to 1. */
  seed?: number;
}

export type ResolvedModelSpec = Required<GeneratedModelSpec>;

/** Bump when the bytes written for a given spec change, so stale cached files are not reused. */
const GENERATOR_VERSION = 1;

/** The vocabularies each supported `vocab` name has: known without reading the file. */
const VOCAB_SIZES: Record<VocabName, number> = { "phi-3": 32064, "llama-spm": 32000 };

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** The shared test-model directory: $LMX_TEST_MODELS_DIR, else ../shared/models beside the repo. */
export function testModelsDir(): string {
  const fromEnv = process.env.LMX_TEST_MODELS_DIR;
  const dir = fromEnv ? resolve(fromEnv) : resolve(findRepoRoot(), "../shared/models");
  if (!existsSync(dir)) {
    throw new Error(
      `Test models directory not found: ${dir}` +
        (fromEnv ? " (from LMX_TEST_MODELS_DIR)." : " (default ../shared/models from the repo root).") +
        " Set LMX_TEST_MODELS_DIR to a directory holding the test GGUF files;" +
        " the files, their sha256 and public origins are listed in that directory's README.md (../shared/models/README.md).",
    );
  }
  return dir;
}

export function testModelPath(name: TestModelName): string {
  const path = join(testModelsDir(), `${name}.gguf`);
  if (!existsSync(path)) {
    throw new Error(`Test model ${name}.gguf is missing from ${dirname(path)}; see README.md there (or set LMX_TEST_MODELS_DIR).`);
  }
  return path;
}

export function generatedModelsDir(): string {
  return process.env.LMX_GENERATED_MODELS_DIR ?? join(tmpdir(), "lmx-generated-models");
}

export function resolveModelSpec(spec: GeneratedModelSpec): ResolvedModelSpec {
  return {
    vocab: spec.vocab,
    dim: spec.dim,
    layers: spec.layers,
    heads: spec.heads,
    kvHeads: spec.kvHeads ?? spec.heads,
    ffnDim: spec.ffnDim ?? Math.ceil((spec.dim * 8) / 3 / 32) * 32,
    contextLength: spec.contextLength ?? 2048,
    type: spec.type ?? "f32",
    seed: spec.seed ?? 1,
  };
}

function toShape(s: ResolvedModelSpec): LlamaShape {
  return {
    dim: s.dim,
    layers: s.layers,
    heads: s.heads,
    kvHeads: s.kvHeads,
    ffnDim: s.ffnDim,
    contextLength: s.contextLength,
    vocabSize: VOCAB_SIZES[s.vocab],
    type: s.type,
    seed: s.seed,
    name: `random-llama-${s.dim}x${s.layers}-${s.vocab}`,
  };
}

/** Parameter count of the model a spec describes (embeddings and output head counted separately). */
export function modelParams(spec: GeneratedModelSpec): number {
  return llamaParamCount(toShape(resolveModelSpec(spec)));
}

/**
 * Path of a random-weight llama model for `spec`, writing it on first use. Cached under
 * $LMX_GENERATED_MODELS_DIR (default <tmpdir>/lmx-generated-models) by a hash of the spec and the
 * vocab file, so the same spec always yields the same bytes; safe for concurrent processes.
 */
export async function generateModel(spec: GeneratedModelSpec): Promise<string> {
  const s = resolveModelSpec(spec);
  const shape = toShape(s);
  llamaParamCount(shape); // throws on an impossible shape before any I/O
  const vocabPath = testModelPath(`ggml-vocab-${s.vocab}`);
  const vocabBytes = await readFile(vocabPath);
  const key = createHash("sha256")
    .update(JSON.stringify({ v: GENERATOR_VERSION, spec: s }))
    .update(vocabBytes)
    .digest("hex")
    .slice(0, 12);
  const kv = s.kvHeads === s.heads ? "" : `-${s.kvHeads}kv`;
  const fileName = `llama-${s.vocab}-${s.dim}d-${s.layers}l-${s.heads}h${kv}-${s.ffnDim}ff-${s.contextLength}ctx-${s.type}-seed${s.seed}-${key}.gguf`;
  const dir = generatedModelsDir();
  await mkdir(dir, { recursive: true });
  return ensureFile(join(dir, fileName), async (path) => {
    const vocab = await readGgufHeader(vocabPath);
    if (vocabSizeOf(vocab) !== shape.vocabSize) {
      throw new Error(`${vocabPath} has ${vocabSizeOf(vocab)} tokens, expected ${shape.vocabSize}`);
    }
    await writeRandomLlama(path, shape, vocab);
  });
}

export const presets = {
  /**
   * The engine benchmark's model: big enough that decode time is matrix maths, not per-token
   * overhead. F32, dim 512, 8 layers × 8 heads, Phi-3 vocabulary (32,064 tokens, chat template),
   * context 2048. ffn 1376 (llama's 8/3·dim rounded to 32) gives 58.1M parameters, ~233 MB:
   * 32.8M in the embedding and output matrices, 25.3M in the blocks.
   */
  benchEngineBound: {
    vocab: "phi-3",
    dim: 512,
    layers: 8,
    heads: 8,
    ffnDim: 1376,
    contextLength: 2048,
    type: "f32",
  },
  /** A few million parameters (mostly the 32k-token embeddings) with the Phi-3 chat template: fast tests. */
  small: {
    vocab: "phi-3",
    dim: 64,
    layers: 2,
    heads: 4,
    ffnDim: 256,
    contextLength: 2048,
    type: "f32",
  },
} as const satisfies Record<string, GeneratedModelSpec>;
