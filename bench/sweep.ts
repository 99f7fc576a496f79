/**
 * Concurrency sweep: 1, 2, 4, 8, 16 streams at once against the built `lmx serve`, through HTTP and
 * SSE, on stories260K and on the 58M-parameter engine-bound model. Per point: aggregate tokens/s (all
 * tokens of a round ÷ first request sent to last token received), per-stream decode tokens/s (each
 * stream's first to last token), and time to first token p50/p95. Also the CPU time the runner and
 * the API process used per token (from /proc), which a shared machine's load distorts far less than
 * tokens/s. Writes bench/results/sweep.svg (tokens/s) and sweep-cpu.svg (tokens per runner CPU-second).
 *
 *   npm run bench -- sweep                      # JSON in bench/results/sweep.json, chart in sweep.svg
 *   BENCH_MODELS=stories260K BENCH_RUNS=1 SWEEP_STREAMS=1,4 npx tsx bench/run.ts sweep   # a quick check
 *
 * One server per model, with as many sequences as the largest point (`--parallel 16`): one deployment
 * under varying load, as a user runs it. Sequences keep separate KV caches (node-llama-cpp sets
 * kv_unified=false), so idle ones cost a lone stream nothing. Rounds take turns across the points,
 * rotating the order, so a change in the machine's load hits every point alike; figures are medians.
 *
 * Comparisons that are configuration changes (speculative decoding, once the engine has it) are
 * `variants`: each one is the same sweep on a server started with extra config, drawn as its own lines.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ConfigInput } from "../src/config/schema.js";
import { benchModel, disposeBenchModels, engineBuild, modelsFromEnv, runsFromEnv, type BenchModelName } from "./lib/bench-models.js";
import { timedStream, type StreamTiming } from "./lib/timed-stream.js";
import { startLmxBenchServer } from "./lib/lmx-bench-server.js";
import { loadAverage, machineInfo } from "./lib/machine.js";
import { serverCpu, type ServerCpu } from "./lib/process-cpu.js";
import { repoRoot } from "./lib/server-process.js";
import { median, percentile, round, summary } from "./lib/stats.js";
import { lineChartSvg, type ChartSeries } from "./lib/svg-chart.js";

export interface SweepVariant {
  /** Shown in the results and the chart's legend. */
  name: string;
  /** Merged into the server's config file, e.g. a draft model for speculative decoding. */
  extraConfig?: ConfigInput;
}

export interface SweepOptions {
  models?: BenchModelName[];
  /** Concurrent streams per point; default $SWEEP_STREAMS or 1,2,4,8,16. */
  streams?: number[];
  /** Measured rounds per point (after a warm-up); default $BENCH_RUNS or 5. */
  runs?: number;
  threads?: number;
  /** Default: the server as configured, alone. */
  variants?: SweepVariant[];
  /** Where the chart goes (and the per-CPU-second one, as <name>-cpu.svg); null: no chart. Default bench/results/sweep.svg. */
  chartPath?: string | null;
}

/** Generated tokens per request: enough for a steady decode rate, few enough to keep 16 × 58M rounds short. */
const tokensPerRequest: Record<BenchModelName, number> = { stories260K: 256, "bench-58M": 64 };
const prompt = "Once upon a time, there was a little girl named Lily.";
const contextSize = 1024;

export async function benchSweep(options: SweepOptions = {}) {
  const models = options.models ?? modelsFromEnv();
  const streams = options.streams ?? streamsFromEnv();
  const runs = options.runs ?? runsFromEnv(5);
  const threads = options.threads ?? 1;
  const variants = options.variants ?? [{ name: "default" }];
  const chartPath = options.chartPath === undefined ? join(repoRoot, "bench", "results", "sweep.svg") : options.chartPath;
  const machine = machineInfo();

  const results = [];
  try {
    for (const name of models) {
      for (const variant of variants) {
        console.error(`sweep: ${name} (${variant.name})…`);
        results.push(await sweepModel(name, variant, streams, runs, threads));
      }
    }
  } finally {
    await disposeBenchModels();
  }

  const result = {
    machine,
    engine: await engineBuildSafe(),
    settings: {
      streams,
      runs,
      threads,
      parallel: Math.max(...streams),
      context_size: contextSize,
      prompt,
      tokens_per_request: tokensPerRequest,
      sampling: "greedy (temperature 0), end-of-generation tokens banned (logit_bias -100) so every request decodes exactly max_tokens",
      measures: {
        aggregate_tokens_per_second: "all tokens of a round ÷ (last token received − first request sent); median over rounds",
        per_stream_tokens_per_second: "each stream's (tokens − 1) ÷ (its last token − its first token); median and slowest over every stream of every round",
        ttft_ms: "request sent → first text chunk received, over every request of every round",
        cpu: "CPU time (user + system, /proc, 10 ms ticks) the runner and the API process used during a round, per token generated; core_share = CPU time ÷ the round's wall time (how much of a core each actually got: on a shared machine, less than the threads asked for means the rate was starved, not slow). tokens_per_runner_cpu_second is the load-independent throughput",
      },
    },
    models: results,
  };
  const charts: { tokens_per_second: string; tokens_per_cpu_second: string | null } | null = chartPath
    ? { tokens_per_second: chartPath, tokens_per_cpu_second: null }
    : null;
  if (charts) {
    mkdirSync(dirname(charts.tokens_per_second), { recursive: true });
    writeFileSync(charts.tokens_per_second, sweepChart(result));
    const cpuChart = sweepCpuChart(result);
    if (cpuChart) {
      charts.tokens_per_cpu_second = charts.tokens_per_second.replace(/\.svg$/, "") + "-cpu.svg";
      writeFileSync(charts.tokens_per_cpu_second, cpuChart);
    }
  }
  return { ...result, charts };
}

async function sweepModel(name: BenchModelName, variant: SweepVariant, streams: number[], runs: number, threads: number) {
  const model = await benchModel(name);
  const tokens = tokensPerRequest[name];
  const loadBefore = loadAverage();
  const server = await startLmxBenchServer({
    modelPath: model.path,
    threads,
    parallel: Math.max(...streams),
    contextSize,
    extraConfig: variant.extraConfig,
  });
  let seed = 1;
  const roundOf = (n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        timedStream(server.url, {
          model: server.model,
          prompt,
          max_tokens: tokens,
          temperature: 0,
          top_k: 0,
          top_p: 1,
          min_p: 0,
          repeat_penalty: 1,
          // Distinct seeds: identical requests could be answered from a cache rather than the engine.
          seed: seed++,
          logit_bias: model.logitBias,
        }),
      ),
    );

  const rounds = new Map<number, Round[]>(streams.map((n) => [n, []]));
  const loads = new Map<number, number[]>(streams.map((n) => [n, []]));
  const measured = async (n: number): Promise<Round> => {
    const before = serverCpu(server.pid);
    const requests = await roundOf(n);
    const after = serverCpu(server.pid);
    return { requests, cpu: before && after ? { apiMs: after.apiMs - before.apiMs, runnersMs: after.runnersMs - before.runnersMs } : null };
  };
  try {
    // Warm-up: every sequence once (the widest point), then a lone stream.
    await roundOf(Math.max(...streams));
    await roundOf(1);
    for (let run = 0; run < runs; run++) {
      for (let i = 0; i < streams.length; i++) {
        const n = streams[(run + i) % streams.length];
        loads.get(n)!.push(loadAverage()[0]);
        rounds.get(n)!.push(await measured(n));
      }
    }
  } finally {
    await server.stop();
  }

  const points = streams.map((n) => summarizePoint(n, rounds.get(n)!, loads.get(n)!));
  const single = points.find((p) => p.streams === 1)?.aggregate_tokens_per_second.median;
  return {
    model: name,
    variant: variant.name,
    file: model.file,
    parameters: model.parameters,
    size_mb: model.size_mb,
    tokens_per_request: tokens,
    server_config: server.config,
    load_average_before: loadBefore,
    load_average_after: loadAverage(),
    points: points.map((p) => ({ ...p, aggregate_over_one_stream: single ? round(p.aggregate_tokens_per_second.median / single, 2) : null })),
  };
}

/** One round: a request per stream, all at once, and the CPU time the server used meanwhile. */
interface Round {
  requests: StreamTiming[];
  cpu: ServerCpu | null;
}

function summarizePoint(n: number, rounds: Round[], loads: number[]) {
  const wallMs = (r: StreamTiming[]) => Math.max(...r.map((s) => s.lastAt)) - Math.min(...r.map((s) => s.startAt));
  const tokensOf = (r: StreamTiming[]) => r.reduce((sum, s) => sum + s.tokens, 0);
  const aggregate = rounds.map((r) => (tokensOf(r.requests) / wallMs(r.requests)) * 1000);
  const withCpu = rounds.filter((r): r is Round & { cpu: ServerCpu } => r.cpu !== null);
  const cpu =
    withCpu.length === 0
      ? null
      : {
          runner_ms_per_token: round(median(withCpu.map((r) => r.cpu.runnersMs / tokensOf(r.requests))), 3),
          api_ms_per_token: round(median(withCpu.map((r) => r.cpu.apiMs / tokensOf(r.requests))), 3),
          tokens_per_runner_cpu_second: round(median(withCpu.map((r) => (tokensOf(r.requests) / r.cpu.runnersMs) * 1000)), 1),
          runner_core_share: round(median(withCpu.map((r) => r.cpu.runnersMs / wallMs(r.requests))), 2),
          api_core_share: round(median(withCpu.map((r) => r.cpu.apiMs / wallMs(r.requests))), 2),
        };
  const all = rounds.flatMap((r) => r.requests);
  const perStream = all.map((s) => ((s.tokens - 1) / (s.lastAt - s.firstAt)) * 1000);
  const ttft = all.map((s) => s.firstAt - s.startAt);
  const tokens = all.map((s) => s.tokens);
  return {
    streams: n,
    aggregate_tokens_per_second: summary(aggregate, 1),
    per_stream_tokens_per_second: { median: round(median(perStream), 1), slowest: round(Math.min(...perStream), 1), fastest: round(Math.max(...perStream), 1) },
    ttft_ms: { p50: round(percentile(ttft, 50), 1), p95: round(percentile(ttft, 95), 1), max: round(Math.max(...ttft), 1) },
    tokens_per_request: { min: Math.min(...tokens), max: Math.max(...tokens) },
    requests: all.length,
    cpu,
    load_average_1m: { median: round(median(loads), 2), min: round(Math.min(...loads), 2), max: round(Math.max(...loads), 2) },
  };
}

type SweepResult = Omit<Awaited<ReturnType<typeof benchSweep>>, "charts">;

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

export function sweepChart(result: SweepResult): string {
  const series: ChartSeries[] = [];
  result.models.forEach((m, i) => {
    const color = palette[i % palette.length];
    const label = m.variant === "default" ? m.model : `${m.model} (${m.variant})`;
    series.push({ label: `${label} aggregate`, color, points: m.points.map((p) => ({ x: p.streams, y: p.aggregate_tokens_per_second.median })) });
    series.push({
      label: `${label} per stream`,
      color,
      dashed: true,
      labelSide: "below",
      points: m.points.map((p) => ({ x: p.streams, y: p.per_stream_tokens_per_second.median })),
    });
  });
  const loads = result.models.flatMap((m) => m.points.map((p) => p.load_average_1m.median));
  const { machine, settings } = result;
  return lineChartSvg({
    title: "LMX concurrency sweep: tokens/s vs concurrent streams",
    subtitle: [
      `${machine.cpus} vCPU ${machine.cpu_model}, --threads ${settings.threads}, --parallel ${settings.parallel}; median of ${settings.runs} rounds per point`,
      `load average (1 min) during the points: ${round(Math.min(...loads), 1)}–${round(Math.max(...loads), 1)}; ${new Date().toISOString().slice(0, 16)}Z` +
        (machine.git ? `, ${machine.git.commit.slice(0, 8)}${machine.git.dirty ? "+changes" : ""}` : ""),
      "solid: aggregate (all streams); dashed: per stream (each stream's own decode rate)",
    ],
    xLabel: "concurrent streams",
    yLabel: "tokens/s (log scale)",
    xTicks: settings.streams,
    xScale: "log2",
    yScale: "log10",
    series,
  });
}

/**
 * The same sweep per CPU-second of the runner: what the engine does with the CPU it gets, which a
 * shared machine's load does not change (much). Null when CPU times could not be read.
 */
export function sweepCpuChart(result: SweepResult): string | null {
  if (result.models.some((m) => m.points.some((p) => p.cpu === null))) return null;
  const series: ChartSeries[] = result.models.map((m, i) => ({
    label: m.variant === "default" ? m.model : `${m.model} (${m.variant})`,
    color: palette[i % palette.length],
    points: m.points.map((p) => ({ x: p.streams, y: p.cpu!.tokens_per_runner_cpu_second })),
  }));
  const { machine, settings } = result;
  return lineChartSvg({
    title: "LMX concurrency sweep: tokens per CPU-second of the runner",
    subtitle: [
      `${machine.cpus} vCPU ${machine.cpu_model}, --threads ${settings.threads}, --parallel ${settings.parallel}; median of ${settings.runs} rounds per point`,
      "all tokens of a round ÷ CPU time (user + system) the model's runner process used meanwhile:",
      "what the engine makes of the CPU it gets, far less sensitive to a shared machine's load than tokens/s",
    ],
    xLabel: "concurrent streams",
    yLabel: "tokens per runner CPU-second (log scale)",
    xTicks: settings.streams,
    xScale: "log2",
    yScale: "log10",
    series,
  });
}

function streamsFromEnv(): number[] {
  const streams = (process.env.SWEEP_STREAMS ?? "1,2,4,8,16").split(",").map(Number);
  if (streams.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`SWEEP_STREAMS must list positive integers, got '${process.env.SWEEP_STREAMS}'`);
  return streams;
}

async function engineBuildSafe() {
  try {
    return await engineBuild();
  } catch {
    return null;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(JSON.stringify(await benchSweep(), null, 2));
}
