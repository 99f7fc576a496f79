import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { CompletionGenerateRequest } from "../../../engine/types.js";
import { clientGone, parseBody } from "../../request-context.js";
import type { Services } from "../../services.js";

const benchmarkSchema = z.object({
  model: z.string().min(1),
  prompt: z.string().min(1).default("Once upon a time"),
  max_tokens: z.number().int().min(2).max(8192).default(128),
  runs: z.number().int().min(1).max(50).default(3),
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  return sorted[low] + (sorted[Math.ceil(rank)] - sorted[low]) * (rank - low);
}

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * `POST /admin/benchmark`: decode tokens/s and time to first token of a model, measured in the
 * engine for each run (one request at a time, so nothing else is measured with it).
 */
export async function adminBenchmarkRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.post("/admin/benchmark", async (request, reply) => {
    const body = parseBody(benchmarkSchema, request.body ?? {});
    const { signal } = clientGone(request, reply);
    const { model } = await services.router.resolve(body.model, { signal });
    const tokens = await model.tokenize(body.prompt, signal);
    const generate: CompletionGenerateRequest = {
      kind: "completion",
      prompt: body.prompt,
      suffix: null,
      echo: false,
      maxTokens: body.max_tokens,
      stop: [],
      n: 1,
      logprobs: null,
      sampling: { temperature: 0, topP: 1, topK: 0, minP: 0, repeatPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, repeatLastN: 64, seed: 1 },
    };
    const runs = [];
    for (let run = 0; run < body.runs; run++) {
      // A new prompt suffix per run keeps the prefix cache from hiding prompt processing.
      const result = await model.generate({ ...generate, prompt: `${body.prompt}${" ".repeat(run)}` }, () => {}, { signal });
      const firstToken = result.timings.firstTokenMs ?? result.timings.totalMs;
      const decodeMs = result.timings.totalMs - firstToken;
      runs.push({
        run: run + 1,
        prompt_tokens: result.usage.promptTokens,
        completion_tokens: result.usage.completionTokens,
        ttft_ms: round(firstToken),
        decode_tokens_per_second: result.usage.completionTokens > 1 && decodeMs > 0 ? round(((result.usage.completionTokens - 1) / decodeMs) * 1000) : null,
        total_ms: round(result.timings.totalMs),
      });
    }
    const rates = runs.map((r) => r.decode_tokens_per_second).filter((r): r is number => r !== null);
    const ttfts = runs.map((r) => r.ttft_ms);
    return {
      model: model.id,
      prompt_tokens: tokens.length,
      max_tokens: body.max_tokens,
      threads: model.info.threads,
      runs,
      decode_tokens_per_second: rates.length ? { p50: round(percentile(rates, 50)), p95: round(percentile(rates, 95)) } : null,
      ttft_ms: { p50: round(percentile(ttfts, 50)), p95: round(percentile(ttfts, 95)) },
    };
  });
}
