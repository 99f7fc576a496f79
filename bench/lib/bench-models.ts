import { statSync } from "node:fs";
import { basename } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { generateModel, modelParams, presets, testModelPath } from "../../test/support/models.js";

/**
 * The serving benchmarks' two models: stories260K (tiny: per-token overhead dominates, so it shows
 * what the server costs) and a 58M-parameter random-weight llama (engine-bound: matrix maths
 * dominates, so it shows what batching and caching buy). Both train at 2048 tokens of context.
 */
export const benchModelNames = ["stories260K", "bench-58M"] as const;
export type BenchModelName = (typeof benchModelNames)[number];

export interface BenchModel {
  name: BenchModelName;
  path: string;
  file: string;
  size_mb: number;
  parameters: string;
  /** A bias banning every end-of-generation token, so each request decodes exactly max_tokens. */
  logitBias: Record<string, number>;
  /** The token a prompt starts with (the server adds it to string prompts), or null when the model wants none. */
  bos: number | null;
  /** The text's tokens, without BOS: for building token-array prompts of exact lengths. */
  tokenize(text: string): number[];
}

/** `BENCH_MODELS=stories260K,bench-58M` (the default: both) selects the models. */
export function modelsFromEnv(): BenchModelName[] {
  const wanted = (process.env.BENCH_MODELS ?? benchModelNames.join(","))
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of wanted) {
    if (!(benchModelNames as readonly string[]).includes(name)) throw new Error(`BENCH_MODELS: unknown model '${name}' (known: ${benchModelNames.join(", ")})`);
  }
  return wanted as BenchModelName[];
}

/** `BENCH_RUNS=n` overrides a suite's number of measured runs (a quick check uses 1 or 2). */
export function runsFromEnv(fallback: number): number {
  const runs = Number(process.env.BENCH_RUNS ?? fallback);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be a positive integer, got '${process.env.BENCH_RUNS}'`);
  return runs;
}

const vocabularies = new Map<string, Promise<LlamaModel>>();

/** Resolves a model (generating the 58M one into its cache directory on first use) and reads its vocabulary. */
export async function benchModel(name: BenchModelName): Promise<BenchModel> {
  const path = name === "stories260K" ? testModelPath("stories260K") : await generateModel(presets.benchEngineBound);
  let vocab = vocabularies.get(path);
  if (!vocab) {
    vocab = (await benchLlama()).loadModel({ modelPath: path, vocabOnly: true });
    vocabularies.set(path, vocab);
  }
  const model = await vocab;
  const size = (model.fileInfo.metadata.tokenizer?.ggml?.tokens as unknown[] | undefined)?.length ?? 0;
  const logitBias: Record<string, number> = {};
  for (let token = 0; token < size; token++) if (model.isEogToken(token as Token)) logitBias[String(token)] = -100;
  return {
    name,
    path,
    file: basename(path),
    size_mb: Math.round(statSync(path).size / 2 ** 20),
    parameters: name === "stories260K" ? "0.26M" : `${(modelParams(presets.benchEngineBound) / 1e6).toFixed(1)}M`,
    logitBias,
    bos: model.tokens.bos !== null && model.tokens.shouldPrependBosToken ? model.tokens.bos : null,
    tokenize: (text) => model.tokenize(text) as number[],
  };
}

/** Releases the vocabularies read by `benchModel` (the bench process then exits cleanly). */
export async function disposeBenchModels(): Promise<void> {
  const models = await Promise.all(vocabularies.values());
  vocabularies.clear();
  await Promise.all(models.map((model) => model.dispose()));
}

/**
 * The engine build the bench process loads (the runners load the same one): which CPU variant, so
 * results from different builds are not compared unknowingly.
 */
export async function engineBuild(): Promise<{ build: string; system_info: string }> {
  const llama = await benchLlama();
  return { build: llama.buildType, system_info: llama.systemInfo.trim() };
}

let llama: Promise<Llama> | null = null;
/** Only tokenizers are loaded here (no weights, no threads): the model itself runs in the server's runner. */
const benchLlama = () => (llama ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false }));
