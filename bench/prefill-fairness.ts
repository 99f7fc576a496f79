/**
 * Prefill fairness: does a long prompt's prefill stall other streams' decoding for its whole length?
 * One stream (A) decodes steadily; once it has run for a while, a request with a 1,500-token prompt
 * (B) arrives. From A's side (the arrival time of each of its tokens over HTTP/SSE) this measures the
 * inter-token gaps while B's prompt is evaluated against the gaps before B arrived, and B's prefill
 * time (its time to first token) with A decoding and alone. B alone is also the estimate of A's
 * stall if the prefill were one uninterruptible batch.
 *
 *   npm run bench -- prefill-fairness
 *   BENCH_MODELS=stories260K BENCH_RUNS=1 FAIRNESS_BATCH_SIZES=512 npx tsx bench/run.ts prefill-fairness
 *
 * The engine evaluates a prompt in batches of `batch_size` tokens (default 512), and each batch
 * also carries the other sequences' next tokens, so A should wait about one batch, not the whole
 * prompt: the gap during prefill should be near (B's prefill time × batch_size ÷ prompt length).
 * The runner forwards every token at once here (stream_interval_ms 0), so gaps are per token, not
 * per 10 ms flush. Every long prompt is new (its own seed), so none is served from the prefix cache.
 */
import { pathToFileURL } from "node:url";
import { benchModel, disposeBenchModels, engineBuild, modelsFromEnv, runsFromEnv, type BenchModel, type BenchModelName } from "./lib/bench-models.js";
import { startLmxBenchServer } from "./lib/lmx-bench-server.js";
import { storyPrompt } from "./lib/long-prompts.js";
import { loadAverage, machineInfo } from "./lib/machine.js";
import { serverCpu } from "./lib/process-cpu.js";
import { median, percentile, round, summary } from "./lib/stats.js";
import { timedStream } from "./lib/timed-stream.js";

export interface PrefillFairnessOptions {
  models?: BenchModelName[];
  /** Measured runs per model and batch size, after a warm-up run; default $BENCH_RUNS or 5. */
  runs?: number;
  longPromptTokens?: number;
  /** Default $FAIRNESS_BATCH_SIZES or 512 (the engine's default) and 128. */
  batchSizes?: number[];
  threads?: number;
}

const contextSize = 2048;
const decoderPromptTokens = 32;
/**
 * How long A decodes before B arrives: the "without it" window. Long enough for dozens of tokens of
 * the 58M model; short for stories260K, which would otherwise fill its context before B is done.
 */
const baselineMs: Record<BenchModelName, number> = { stories260K: 300, "bench-58M": 2000 };
/** A keeps decoding this long after B's first token, so the window's last gap is complete. */
const tailMs = 150;

export async function benchPrefillFairness(options: PrefillFairnessOptions = {}) {
  const models = options.models ?? modelsFromEnv();
  const runs = options.runs ?? runsFromEnv(5);
  const longPromptTokens = options.longPromptTokens ?? 1500;
  const batchSizes = options.batchSizes ?? batchSizesFromEnv();
  const threads = options.threads ?? 1;
  const machine = machineInfo();
  const results = [];
  try {
    for (const name of models) {
      const model = await benchModel(name);
      for (const batchSize of batchSizes) {
        console.error(`prefill-fairness: ${name}, batch size ${batchSize}…`);
        results.push(await measure(model, { runs, longPromptTokens, batchSize, threads }));
      }
    }
  } finally {
    await disposeBenchModels();
  }
  return {
    machine,
    engine: await engineBuild().catch(() => null),
    settings: {
      runs,
      long_prompt_tokens: longPromptTokens,
      decoder_prompt_tokens: decoderPromptTokens,
      threads,
      parallel: 2,
      context_size: contextSize,
      stream_interval_ms: 0,
      baseline_window_ms: baselineMs,
      measures: {
        gap: "time between two consecutive token arrivals of the decoding stream A, client side",
        baseline: "A's gaps from its second token until B is sent",
        during_prefill: "A's gaps that overlap [B sent, B's first token received]",
        long_prompt_ttft_ms: "B's time to first token: its prefill (plus one decode step and HTTP), with A decoding and alone",
        uninterruptible_prefill_estimate_ms: "the gap A would see if B's prompt were evaluated in one batch it could not share: B's TTFT alone",
        stall_fraction: "A's largest gap during prefill ÷ B's TTFT with A decoding: 1 would mean A stalled for the whole prefill",
        runner_cpu: "the runner's CPU time (/proc, 10 ms ticks) for the long prompt alone, and its CPU time ÷ wall time while the long prompt ran beside A (below 1 with --threads 1: the machine's load took the rest)",
      },
      statistic: "each figure is computed per run, then the median over runs is reported (max and p95 per run first)",
    },
    cases: results,
  };
}

async function measure(model: BenchModel, o: { runs: number; longPromptTokens: number; batchSize: number; threads: number }) {
  const loadBefore = loadAverage();
  const server = await startLmxBenchServer({
    modelPath: model.path,
    threads: o.threads,
    parallel: 2,
    contextSize,
    batchSize: o.batchSize,
    streamIntervalMs: 0,
  });
  const sampling = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repeat_penalty: 1, logit_bias: model.logitBias };
  const longRequest = (seed: number) =>
    timedStream(server.url, { model: server.model, prompt: storyPrompt(model, o.longPromptTokens, seed), max_tokens: 2, seed, ...sampling }, { headers: { "x-client-id": "long-prompt" } });

  const runs: RunResult[] = [];
  try {
    for (let run = 0; run <= o.runs; run++) {
      const load = loadAverage()[0];
      // B alone first: the prefill time with nothing else to decode. Seeds 2000+ give prompts no other request shares.
      const cpu0 = serverCpu(server.pid);
      const alone = await longRequest(2000 + 2 * run);
      const cpu1 = serverCpu(server.pid);
      const aloneTtft = alone.firstAt - alone.startAt;

      // A decodes until it is stopped (max_tokens leaves room in the context for anything it gets to).
      const stopA = new AbortController();
      let onFirst: () => void = () => {};
      const aStarted = new Promise<void>((resolve) => (onFirst = resolve));
      const a = timedStream(
        server.url,
        { model: server.model, prompt: storyPrompt(model, decoderPromptTokens, 3000 + run), max_tokens: contextSize - decoderPromptTokens - 8, seed: run, ...sampling },
        { headers: { "x-client-id": "decoder" }, signal: stopA.signal, onText: () => onFirst() },
      );
      await aStarted;
      await sleep(baselineMs[model.name]);
      const cpu2 = serverCpu(server.pid);
      const b = await longRequest(2000 + 2 * run + 1);
      const cpu3 = serverCpu(server.pid);
      const bEnd = performance.now();
      await sleep(tailMs);
      stopA.abort();
      const aResult = await a;
      if (!aResult.aborted || aResult.lastAt <= b.firstAt) {
        throw new Error(`${model.name}: the decoding stream ended before the long prompt's prefill did; lower baselineMs or raise its max_tokens`);
      }
      if (run > 0) {
        const result = analyse(aResult.textAt, b.startAt, b.firstAt, aloneTtft, load);
        if (cpu0 && cpu1 && cpu2 && cpu3) {
          result.aloneRunnerCpuMs = cpu1.runnersMs - cpu0.runnersMs;
          result.coreShareWithA = (cpu3.runnersMs - cpu2.runnersMs) / (bEnd - b.startAt);
        }
        runs.push(result);
      }
    }
  } finally {
    await server.stop();
  }

  const med = (pick: (r: RunResult) => number, digits = 1) => round(median(runs.map(pick)), digits);
  const prefillWithA = med((r) => r.longTtftMs);
  const maxGapDuring = med((r) => r.during.max);
  return {
    model: model.name,
    file: model.file,
    parameters: model.parameters,
    batch_size: o.batchSize,
    prompt_batches: Math.ceil(o.longPromptTokens / o.batchSize),
    baseline_gap_ms: { median: med((r) => r.baseline.median, 2), p95: med((r) => r.baseline.p95, 2), max: med((r) => r.baseline.max, 2), count: med((r) => r.baseline.count, 0) },
    during_prefill_gap_ms: { median: med((r) => r.during.median, 2), p95: med((r) => r.during.p95, 2), max: maxGapDuring, count: med((r) => r.during.count, 0) },
    decoder_tokens_during_prefill: med((r) => r.tokensDuring, 0),
    long_prompt_ttft_ms: { with_decoding_stream: prefillWithA, alone: med((r) => r.aloneTtftMs) },
    uninterruptible_prefill_estimate_ms: med((r) => r.aloneTtftMs),
    stall_fraction: round(maxGapDuring / prefillWithA, 3),
    runner_cpu:
      runs.every((r) => r.aloneRunnerCpuMs !== undefined && r.coreShareWithA !== undefined)
        ? { long_prompt_alone_ms: med((r) => r.aloneRunnerCpuMs!, 0), core_share_during_long_prompt_with_a: med((r) => r.coreShareWithA!, 2) }
        : null,
    per_run: {
      max_gap_during_prefill_ms: summary(runs.map((r) => r.during.max), 1).runs,
      long_prompt_ttft_ms: summary(runs.map((r) => r.longTtftMs), 1).runs,
      load_average_1m: runs.map((r) => round(r.load, 2)),
    },
    load_average_before: loadBefore,
    load_average_after: loadAverage(),
    server_config: server.config,
  };
}

interface GapStats {
  median: number;
  p95: number;
  max: number;
  count: number;
}

interface RunResult {
  baseline: GapStats;
  during: GapStats;
  /** A's chunks that arrived while B's prompt was being evaluated. */
  tokensDuring: number;
  longTtftMs: number;
  aloneTtftMs: number;
  load: number;
  /** The runner's CPU time for the long prompt alone (null off Linux). */
  aloneRunnerCpuMs?: number;
  /** The runner's CPU time ÷ wall time while B ran beside A: how much of a core it got. */
  coreShareWithA?: number;
}

/** Splits A's gaps into before B was sent and overlapping B's prefill ([sent, first token]). */
function analyse(textAt: number[], bSent: number, bFirst: number, aloneTtftMs: number, load: number): RunResult {
  const baseline: number[] = [];
  const during: number[] = [];
  // From the second chunk: the first gap can include the tail of A's own (short) prefill.
  for (let i = 2; i < textAt.length; i++) {
    const [from, to] = [textAt[i - 1], textAt[i]];
    if (to <= bSent) baseline.push(to - from);
    else if (from < bFirst) during.push(to - from);
  }
  return {
    baseline: gapStats(baseline),
    during: gapStats(during),
    tokensDuring: textAt.filter((t) => t > bSent && t <= bFirst).length,
    longTtftMs: bFirst - bSent,
    aloneTtftMs,
    load,
  };
}

function gapStats(gaps: number[]): GapStats {
  if (gaps.length === 0) return { median: Number.NaN, p95: Number.NaN, max: Number.NaN, count: 0 };
  return { median: median(gaps), p95: percentile(gaps, 95), max: Math.max(...gaps), count: gaps.length };
}

function batchSizesFromEnv(): number[] {
  const sizes = (process.env.FAIRNESS_BATCH_SIZES ?? "512,128").split(",").map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`FAIRNESS_BATCH_SIZES must list positive integers, got '${process.env.FAIRNESS_BATCH_SIZES}'`);
  return sizes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(JSON.stringify(await benchPrefillFairness(), null, 2));
}
