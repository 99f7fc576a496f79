/**
 * Speculative decoding through HTTP: single-stream decode tokens/s of the built `lmx serve` with plain
 * decoding, with prompt-lookup decoding and with a draft model, on the same model, prompt and settings,
 * greedy (temperature 0), with the draft tokens the model accepted and rejected (from /metrics) and a
 * check that every variant wrote exactly what plain decoding wrote.
 *
 *   npm run bench -- speculative
 *   BENCH_MODELS=stories260K BENCH_RUNS=2 npx tsx bench/run.ts speculative   # a quick check
 *
 * The prompt is a story that repeats itself, the case prompt lookup is for (code edits, answers quoting
 * their sources). Draft models: stories260K drafts for itself (there is no smaller model of its
 * vocabulary), which shows what drafting costs when the draft is always in step; the 58M random-weight
 * model gets a 2-layer random model of the same vocabulary, whose drafts are rarely right: random
 * weights agree with nothing, so that line is the cost of drafting when drafts fail, not a speed-up.
 * Variants take turns, round by round, so a change in the machine's load hits each alike.
 */
import { pathToFileURL } from "node:url";
import type { ModelSettings } from "../src/config/schema.js";

type SpeculativeSetting = NonNullable<ModelSettings["speculative"]>;
import { generateModel, testModelPath } from "../test/support/models.js";
import { benchModel, disposeBenchModels, engineBuild, modelsFromEnv, runsFromEnv, type BenchModel, type BenchModelName } from "./lib/bench-models.js";
import { startLmxBenchServer, type LmxBenchServer } from "./lib/lmx-bench-server.js";
import { loadAverage, machineInfo } from "./lib/machine.js";
import { round, summary } from "./lib/stats.js";
import { timedStream } from "./lib/timed-stream.js";

export interface SpeculativeOptions {
  models?: BenchModelName[];
  /** Measured requests per variant, after a warm-up; default $BENCH_RUNS or 5. */
  runs?: number;
  threads?: number;
}

const story =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. " +
  "One day, she saw a big red ball under a tree. She ran to the ball and kicked it high into the sky. ";
const prompt = `${story}${story}Once upon a time, there was a little girl named Lily. She`;
const tokens: Record<BenchModelName, number> = { stories260K: 256, "bench-58M": 64 };
const contextSize = 1024;

/** A small model with the 58M model's vocabulary, to draft for it. */
const draftFor58M = { vocab: "phi-3", dim: 64, layers: 2, heads: 4, contextLength: 2048 } as const;

export async function benchSpeculative(options: SpeculativeOptions = {}) {
  const models = options.models ?? modelsFromEnv();
  const runs = options.runs ?? runsFromEnv(5);
  const threads = options.threads ?? 1;
  const machine = machineInfo();
  const results = [];
  try {
    for (const name of models) {
      console.error(`speculative: ${name}…`);
      results.push(await measureModel(await benchModel(name), runs, threads));
    }
  } finally {
    await disposeBenchModels();
  }
  return {
    machine,
    engine: await engineBuild().catch(() => null),
    settings: {
      runs,
      threads,
      context_size: contextSize,
      prompt,
      sampling: "greedy (temperature 0), end-of-generation tokens banned",
      rate: "decode tokens/s of one stream: (tokens − 1) ÷ (first to last text chunk), client side",
      acceptance: "draft tokens accepted ÷ (accepted + rejected), from lmx_speculative_tokens_total",
    },
    models: results,
  };
}

async function measureModel(model: BenchModel, runs: number, threads: number) {
  const draftPath = model.name === "stories260K" ? testModelPath("stories260K") : await generateModel(draftFor58M);
  const variants: Array<{ name: string; speculative: SpeculativeSetting | null }> = [
    { name: "plain", speculative: null },
    { name: "prompt_lookup", speculative: { prompt_lookup: true, max_draft_tokens: 4 } },
    { name: model.name === "stories260K" ? "draft_self" : "draft_random_2layer", speculative: { draft_model: draftPath, max_draft_tokens: 8 } },
  ];
  const loadBefore = loadAverage();
  const servers: Array<{ name: string; server: LmxBenchServer }> = [];
  try {
    for (const variant of variants) {
      const server = await startLmxBenchServer({
        modelPath: model.path,
        threads,
        parallel: 1,
        contextSize,
        streamIntervalMs: 0,
        extraConfig: variant.speculative ? { models: { bench: { speculative: variant.speculative } } } : {},
      });
      servers.push({ name: variant.name, server });
    }
    const rates = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const texts = new Map<string, Set<string>>(servers.map((s) => [s.name, new Set()]));
    const before = new Map(await Promise.all(servers.map(async (s) => [s.name, await draftCounts(s.server)] as const)));
    for (let run = 0; run <= runs; run++) {
      for (let i = 0; i < servers.length; i++) {
        const { name, server } = servers[(run + i) % servers.length];
        const result = await complete(server, model, tokens[model.name]);
        if (run === 0) continue; // warm-up
        rates.get(name)!.push(result.rate);
        texts.get(name)!.add(result.text);
      }
    }
    const plainText = [...texts.get("plain")!][0];
    const out: Record<string, unknown> = {};
    const plainRate = summary(rates.get("plain")!, 1).median;
    for (const { name, server } of servers) {
      const after = await draftCounts(server);
      const start = before.get(name)!;
      const accepted = after.accepted - start.accepted;
      const rejected = after.rejected - start.rejected;
      const rate = summary(rates.get(name)!, 1);
      out[name] = {
        tokens_per_second: rate,
        speedup_over_plain: round(rate.median / plainRate, 2),
        draft_tokens: name === "plain" ? null : { accepted, rejected, acceptance: accepted + rejected > 0 ? round(accepted / (accepted + rejected), 3) : null },
        output_identical_to_plain: texts.get(name)!.size === 1 && [...texts.get(name)!][0] === plainText,
        speculative: server.config.models && (server.config.models as Record<string, { speculative?: unknown }>).bench?.speculative,
      };
    }
    return {
      model: model.name,
      file: model.file,
      parameters: model.parameters,
      tokens: tokens[model.name],
      variants: out,
      load_average_before: loadBefore,
      load_average_after: loadAverage(),
    };
  } finally {
    for (const { server } of servers) await server.stop().catch(() => {});
  }
}

async function complete(server: LmxBenchServer, model: BenchModel, maxTokens: number): Promise<{ rate: number; text: string }> {
  const stream = await timedStream(server.url, { model: server.model, prompt, max_tokens: maxTokens, temperature: 0, logit_bias: model.logitBias });
  return { rate: ((stream.tokens - 1) / (stream.lastAt - stream.firstAt)) * 1000, text: stream.text };
}

async function draftCounts(server: LmxBenchServer): Promise<{ accepted: number; rejected: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (outcome: string) => {
    const line = text.split("\n").find((l) => l.startsWith("lmx_speculative_tokens_total{") && l.includes(`outcome="${outcome}"`));
    return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
  };
  return { accepted: value("accepted"), rejected: value("rejected") };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(JSON.stringify(await benchSpeculative(), null, 2));
}
