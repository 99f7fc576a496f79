import { statSync } from "node:fs";

/**
 * What a GGUF file says about its model, read from its header (node-llama-cpp's GGUF reader, pure
 * JavaScript) and cached per file and modification time. node-llama-cpp is imported lazily: the
 * API process pays for it only when it first needs a model's metadata, never at start-up.
 */
export interface GgufSummary {
  architecture: string;
  name: string | null;
  /** Quantization of most tensors, as people write it: Q4_K_M, Q8_0, F16… */
  quantization: string;
  contextLength: number | null;
  embeddingLength: number | null;
  layers: number | null;
  parameters: number | null;
  /** "embeddings" for encoder-only / pooling models, "llm" otherwise. */
  type: "llm" | "embeddings";
  hasChatTemplate: boolean;
  metadata: Record<string, unknown>;
}

type NodeLlamaCpp = typeof import("node-llama-cpp");
let library: Promise<NodeLlamaCpp> | null = null;
const loadLibrary = () => (library ??= import("node-llama-cpp"));

const cache = new Map<string, { mtimeMs: number; summary: Promise<GgufSummary> }>();

export function readGgufSummary(path: string): Promise<GgufSummary> {
  const mtimeMs = statSync(path).mtimeMs;
  const cached = cache.get(path);
  if (cached && cached.mtimeMs === mtimeMs) return cached.summary;
  const summary = read(path);
  cache.set(path, { mtimeMs, summary });
  summary.catch(() => cache.delete(path));
  return summary;
}

async function read(path: string): Promise<GgufSummary> {
  const { readGgufFileInfo, GgufFileType, GgmlType } = await loadLibrary();
  const info = await readGgufFileInfo(path, { readTensorInfo: true });
  const general = (info.metadata.general ?? {}) as Record<string, unknown>;
  const architecture = String(general.architecture ?? "unknown");
  const arch = (info.architectureMetadata ?? {}) as Record<string, unknown>;
  const fileType = typeof general.file_type === "number" ? GgufFileType[general.file_type] : undefined;
  const tokenizer = (info.metadata.tokenizer ?? {}) as Record<string, unknown>;
  let parameters: number | null = null;
  // Without general.file_type (older converters), the quantization is that of most weights.
  const elementsByType = new Map<number, number>();
  if (info.fullTensorInfo) {
    parameters = 0;
    for (const tensor of info.fullTensorInfo) {
      const elements = tensor.dimensions.reduce<number>((product, d) => product * Number(d), 1);
      parameters += elements;
      elementsByType.set(tensor.ggmlType, (elementsByType.get(tensor.ggmlType) ?? 0) + elements);
    }
  }
  const dominant = [...elementsByType.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const pooling = arch.pooling_type;
  const encoderOnly = ["bert", "nomic-bert", "jina-bert-v2", "t5encoder"].includes(architecture);
  return {
    architecture,
    name: typeof general.name === "string" ? general.name : null,
    quantization: fileType ? fileType.replace(/^(MOSTLY|ALL)_/, "") : dominant !== undefined ? String(GgmlType[dominant]) : "unknown",
    contextLength: typeof arch.context_length === "number" ? arch.context_length : null,
    embeddingLength: typeof arch.embedding_length === "number" ? arch.embedding_length : null,
    layers: typeof arch.block_count === "number" ? arch.block_count : null,
    parameters,
    type: encoderOnly || (typeof pooling === "number" && pooling > 0) ? "embeddings" : "llm",
    hasChatTemplate: typeof tokenizer.chat_template === "string" && tokenizer.chat_template.length > 0,
    metadata: withoutBulkArrays(info.metadata as unknown as Record<string, unknown>),
  };
}

/** The tokenizer's vocabulary arrays are huge; `lmx show` wants their length, not their content. */
function withoutBulkArrays(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (Array.isArray(item) && item.length > 64) out[key] = `[${item.length} items]`;
    else if (item && typeof item === "object" && !Array.isArray(item)) out[key] = withoutBulkArrays(item as Record<string, unknown>);
    else out[key] = item;
  }
  return out;
}

export interface MemoryEstimate {
  ramBytes: number;
  vramBytes: number;
}

/**
 * Memory a model needs loaded with these settings: weights plus the context (KV cache for
 * context × sequences, compute buffers), from node-llama-cpp's GGUF insights.
 */
export async function estimateMemory(
  path: string,
  options: { contextSize: number; parallel: number; gpuLayers: number; batchSize?: number },
): Promise<MemoryEstimate> {
  const { readGgufFileInfo, GgufInsights } = await loadLibrary();
  const info = await readGgufFileInfo(path, { readTensorInfo: true });
  const insights = await GgufInsights.from(info);
  const model = insights.estimateModelResourceRequirements({ gpuLayers: options.gpuLayers });
  const context = insights.estimateContextResourceRequirements({
    contextSize: options.contextSize,
    sequences: options.parallel,
    modelGpuLayers: options.gpuLayers,
    batchSize: options.batchSize,
  });
  return { ramBytes: model.cpuRam + context.cpuRam, vramBytes: model.gpuVram + context.gpuVram };
}
