/**
 * Prefix caching through HTTP: time to first token of a request whose 1,500-token prefix no sequence
 * holds (cold) against the next request sharing that prefix with a different ending (warm), on the
 * same server and model, with the `cached_tokens` each one's usage reports. Target: warm ≥ 10× faster.
 *
 *   npm run bench -- prefix-cache
 *   BENCH_MODELS=stories260K BENCH_RUNS=2 npx tsx bench/run.ts prefix-cache   # a quick check
 *
 * Each pair has a fresh prefix (a new seed), so every cold request is really cold. The pair runs
 * sequentially: with every sequence free, the pool hands the warm request the sequence holding the
 * prefix (the longest shared prefix wins), which is the case this measures — a multi-turn chat or a
 * shared system prompt whose next request arrives after the previous one finished.
 * Prompts are token arrays, so the shared part is exactly `prefixTokens` long.
 */
import { pathToFileURL } from "node:url";
import { benchModel, disposeBenchModels, engineBuild, modelsFromEnv, runsFromEnv, type BenchModel, type BenchModelName } from "./lib/bench-models.js";
import { startLmxBenchServer } from "./lib/lmx-bench-server.js";
import { storyPrompt, suffixTokens } from "./lib/long-prompts.js";
import { loadAverage, machineInfo } from "./lib/machine.js";
import { serverCpu } from "./lib/process-cpu.js";
import { median, round, summary } from "./lib/stats.js";
import { timedStream, type TimedStream } from "./lib/timed-stream.js";

interface Measured {
  stream: TimedStream;
  runnerCpuMs: number | null;
}

export interface PrefixCacheOptions {
  models?: BenchModelName[];
  /** Measured cold/warm pairs per model, after one warm-up pair; default $BENCH_RUNS or 5. */
  runs?: number;
  prefixTokens?: number;
  threads?: number;
  /** Sequences of the server's context: the warm request must find its prefix among them. */
  parallel?: number;
}

const contextSize = 2048;
/**
 * Different first words, so the cold and warm prompts part exactly at the end of the prefix. (No
 * leading space: these SentencePiece tokenizers add one to every text they tokenize.)
 */
const coldEnding = "The end. Now tell me: what did they do next?";
const warmEnding = "Later that day, one more question: who was the happiest?";
/** Only the first token is timed; a few more show the stream works. */
const maxTokens = 4;
const target = 10;

export async function benchPrefixCache(options: PrefixCacheOptions = {}) {
  const models = options.models ?? modelsFromEnv();
  const runs = options.runs ?? runsFromEnv(5);
  const prefixTokens = options.prefixTokens ?? 1500;
  const threads = options.threads ?? 1;
  const parallel = options.parallel ?? 4;
  const machine = machineInfo();
  const results = [];
  try {
    for (const name of models) {
      console.error(`prefix-cache: ${name}…`);
      results.push(await measureModel(await benchModel(name), { runs, prefixTokens, threads, parallel }));
    }
  } finally {
    await disposeBenchModels();
  }
  return {
    machine,
    engine: await engineBuild().catch(() => null),
    settings: {
      runs,
      prefix_tokens: prefixTokens,
      threads,
      parallel,
      context_size: contextSize,
      max_tokens: maxTokens,
      cold_ending: coldEnding,
      warm_ending: warmEnding,
      prompts: "token arrays: BOS + seeded children's-story text, a new seed per pair; the warm request = the same prefix + a different ending",
      ttft: "request sent → first text chunk received (client side, through HTTP and SSE)",
      runner_cpu: "CPU time of the model's runner process during each whole request (/proc, 10 ms ticks); cold_over_warm floors the warm median at one tick, so it is a lower bound",
    },
    target: `warm TTFT ≥ ${target}× faster than cold, same model`,
    models: results,
  };
}

async function measureModel(model: BenchModel, o: { runs: number; prefixTokens: number; threads: number; parallel: number }) {
  const cold = suffixTokens(model, coldEnding);
  const warm = suffixTokens(model, warmEnding);
  if (cold[0] === warm[0]) throw new Error(`${model.name}: the cold and warm endings start with the same token`);
  const loadBefore = loadAverage();
  const server = await startLmxBenchServer({ modelPath: model.path, threads: o.threads, parallel: o.parallel, contextSize });
  /** The request's timing, and the runner's CPU time while it ran (null off Linux). */
  const request = async (prompt: number[], seed: number): Promise<Measured> => {
    const before = serverCpu(server.pid);
    const stream = await timedStream(server.url, {
      model: server.model,
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      seed,
      logit_bias: model.logitBias,
    });
    const after = serverCpu(server.pid);
    return { stream, runnerCpuMs: before && after ? after.runnersMs - before.runnersMs : null };
  };
  const pairs: Array<{ cold: Measured; warm: Measured; load: number }> = [];
  try {
    for (let run = 0; run <= o.runs; run++) {
      // Seeds 1000+: prefixes no other suite's prompt starts like. Run 0 is the warm-up.
      const prefix = storyPrompt(model, o.prefixTokens, 1000 + run);
      const load = loadAverage()[0];
      const coldRun = await request([...prefix, ...cold], run);
      const warmRun = await request([...prefix, ...warm], run);
      if (run > 0) pairs.push({ cold: coldRun, warm: warmRun, load });
    }
  } finally {
    await server.stop();
  }

  const ttft = (m: Measured) => m.stream.firstAt - m.stream.startAt;
  const coldTtft = pairs.map((p) => ttft(p.cold));
  const warmTtft = pairs.map((p) => ttft(p.warm));
  const speedups = pairs.map((p) => ttft(p.cold) / ttft(p.warm));
  const speedup = round(median(coldTtft) / median(warmTtft), 1);
  const cached = (runs: Measured[]) => [...new Set(runs.map((m) => m.stream.usage?.cached_tokens ?? null))];
  const cpu = pairs.every((p) => p.cold.runnerCpuMs !== null && p.warm.runnerCpuMs !== null)
    ? {
        cold_ms: summary(pairs.map((p) => p.cold.runnerCpuMs!), 0),
        warm_ms: summary(pairs.map((p) => p.warm.runnerCpuMs!), 0),
      }
    : null;
  return {
    model: model.name,
    file: model.file,
    parameters: model.parameters,
    prompt_tokens: { cold: pairs[0]?.cold.stream.usage?.prompt_tokens ?? null, warm: pairs[0]?.warm.stream.usage?.prompt_tokens ?? null },
    /** What usage.prompt_tokens_details.cached_tokens said (distinct values over the runs). */
    cached_tokens: { cold: cached(pairs.map((p) => p.cold)), warm: cached(pairs.map((p) => p.warm)) },
    cold_ttft_ms: summary(coldTtft, 1),
    warm_ttft_ms: summary(warmTtft, 1),
    speedup_median_cold_over_median_warm: speedup,
    speedup_per_pair: summary(speedups, 1),
    target_met: speedup >= target,
    /**
     * The runner's CPU time per request (10 ms ticks, whole request: prefill and the few decoded
     * tokens): the work the cache saves, whatever the machine's load did to the wall-clock figures.
     */
    runner_cpu: cpu && { ...cpu, cold_over_warm: round(cpu.cold_ms.median / Math.max(cpu.warm_ms.median, 10), 1) },
    load_average_1m_per_pair: pairs.map((p) => round(p.load, 2)),
    load_average_before: loadBefore,
    load_average_after: loadAverage(),
    server_config: server.config,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(JSON.stringify(await benchPrefixCache(), null, 2));
}
