import { ModelHost } from "../../src/engine/runner/model-host.js";
import type { CompletionGenerateRequest } from "../../src/engine/types.js";

/**
 * The engine in this process, without the API process, IPC and HTTP: loaded with the settings `lmx
 * serve` would give it, every event sent at once (no runner batching to wait for).
 */
export function loadDirectEngine(o: { path: string; parallel: number; contextSize: number; threads: number }): Promise<ModelHost> {
  return ModelHost.load({
    id: "bench",
    path: o.path,
    parallel: o.parallel,
    contextSize: o.contextSize,
    threads: o.threads,
    gpu: "auto",
    gpuLayers: "auto",
    batchSize: null,
    flashAttention: null,
    prefixCache: true,
    speculative: null,
    streamIntervalMs: 0,
  });
}

/** A greedy completion request of exactly `maxTokens` tokens when `logitBias` bans the end-of-generation tokens. */
export function greedyCompletion(prompt: string, maxTokens: number, seed: number, logitBias: Record<number, number>): CompletionGenerateRequest {
  return {
    kind: "completion",
    prompt,
    suffix: null,
    echo: false,
    maxTokens,
    stop: [],
    n: 1,
    logprobs: null,
    sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repeatPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, repeatLastN: 64, seed, logitBias },
  };
}
