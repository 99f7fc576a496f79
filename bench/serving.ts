/**
 * The server's own cost: decode tokens/s and time to first token measured through HTTP (the built
 * `lmx serve`, its runner process, SSE) and directly through the engine (ModelHost in this process),
 * on the same model and settings. HTTP/direct is what the API and the process hop cost.
 * Also: start-up time of `lmx serve` to a listening server without a model.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testModelPath } from "../test/support/models.js";
import { greedyCompletion, loadDirectEngine } from "./lib/direct-engine.js";
import { BenchHttpClient } from "./lib/http-client.js";
import { startServerProcess } from "./lib/server-process.js";
import { round, summary } from "./lib/stats.js";
import { timedStream } from "./lib/timed-stream.js";

export interface ServingBenchOptions {
  modelPath?: string;
  threads?: number;
  tokens?: number;
  runs?: number;
  concurrency?: number;
  /** Short requests timed for time to first token, on each path. */
  ttftRuns?: number;
}

interface RunResult {
  ttftMs: number;
  tokens: number;
  decodeTokensPerSecond: number;
  firstAt: number;
  lastAt: number;
}

type Once = (seed: number, tokens: number) => Promise<RunResult>;

/** stories260K's end-of-story token is banned so every run decodes exactly `tokens` tokens. */
const banEos = { 2: -100 };
const prompt = "Once upon a time, there was a little girl named Lily.";
/** Time to first token is that of a request arriving at an idle server: each starts this long after the last. */
const ttftPauseMs = 5;
/** Short requests on each path before measuring. */
const warmUpRequests = 1000;

/**
 * Both paths are up at once (the model loaded in this process and in the server's runner) and their
 * runs alternate — direct then HTTP, then HTTP then direct — so that the machine's drifting noise
 * falls on both alike instead of on whichever ran second.
 */
export async function benchServing(options: ServingBenchOptions = {}) {
  const modelPath = options.modelPath ?? testModelPath("stories260K");
  const threads = options.threads ?? 1;
  const tokens = options.tokens ?? 256;
  const runs = options.runs ?? 21;
  const concurrency = options.concurrency ?? 8;
  // Idle requests vary by ±50% here from one to the next (the host's wake-ups): 41 per path left the
  // median moving by ±0.4 ms between runs of the same code.
  const ttftRuns = options.ttftRuns ?? 201;
  const contextSize = 1024;

  const direct = await directPath({ modelPath, threads, concurrency, contextSize });
  const http = await httpPath({ modelPath, threads, concurrency, contextSize }).catch(async (err) => {
    await direct.close();
    throw err;
  });
  try {
    // Warm both paths up as a server in use is: V8 optimises the request path only after some hundreds
    // of requests (measured here: time to first token through HTTP 3.2 ms over requests 140-200 of a
    // fresh server, 1.4 ms over requests 1,940-2,000).
    for (let i = 0; i < warmUpRequests; i++) {
      await direct.once(i, 4);
      await http.once(i, 4);
    }
    const single = await alternate(runs, (seed, path) => path.once(seed, tokens), direct, http);
    const ttft = await alternate(ttftRuns, async (seed, path) => {
      await sleep(ttftPauseMs);
      return path.once(seed, 4);
    }, direct, http);
    const concurrent = await alternate(Math.max(3, Math.ceil(runs / 2)), (seed, path) => concurrentRun(path.once, concurrency, tokens, 100 * seed), direct, http);

    const directResults = {
      single: singleSummary(single.direct),
      ttft_idle_ms: summary(ttft.direct.map((r) => r.ttftMs), 3),
      concurrent: concurrentSummary(concurrency, concurrent.direct),
    };
    const httpResults = {
      single: singleSummary(single.http),
      ttft_idle_ms: summary(ttft.http.map((r) => r.ttftMs), 3),
      concurrent: concurrentSummary(concurrency, concurrent.http),
    };
    const pairRatios = single.http.map((r, i) => r.decodeTokensPerSecond / single.direct[i].decodeTokensPerSecond);
    const startup = await measureStartup(5);
    return {
      model: modelPath.split("/").pop(),
      settings: { threads, tokens, runs, ttft_runs: ttftRuns, ttft_pause_ms: ttftPauseMs, warm_up_requests: warmUpRequests, concurrency, context_size: contextSize, parallel: concurrency },
      direct: directResults,
      http: httpResults,
      ratios: {
        single_stream_http_over_direct: round(httpResults.single.tokensPerSecond.median / directResults.single.tokensPerSecond.median, 3),
        single_stream_http_over_direct_pairs: summary(pairRatios, 3),
        concurrent_http_over_direct: round(httpResults.concurrent.aggregateTokensPerSecond.median / directResults.concurrent.aggregateTokensPerSecond.median, 3),
        /** Idle server, short requests: the target's measure. */
        server_added_ttft_p50_ms: round(httpResults.ttft_idle_ms.median - directResults.ttft_idle_ms.median, 3),
        server_added_ttft_p95_ms: round(httpResults.ttft_idle_ms.p95 - directResults.ttft_idle_ms.p95, 3),
        /** The same, for a request sent the moment the previous 256-token stream ended (its tail work still running). */
        server_added_ttft_back_to_back_p50_ms: round(httpResults.single.ttftMs.median - directResults.single.ttftMs.median, 3),
      },
      startup_to_listening_ms: startup,
      targets: {
        single_stream_http_over_direct: ">= 0.97",
        server_added_ttft_p50_ms: "< 2",
        startup_to_listening_ms: "< 1000",
      },
    };
  } finally {
    await http.close();
    await direct.close();
  }
}

interface Path {
  once: Once;
  close(): Promise<void>;
}

async function directPath(o: { modelPath: string; threads: number; concurrency: number; contextSize: number }): Promise<Path> {
  const host = await loadDirectEngine({ path: o.modelPath, parallel: o.concurrency, contextSize: o.contextSize, threads: o.threads });
  const once: Once = async (seed, tokens) => {
    const started = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    const result = await host.generate(
      greedyCompletion(prompt, tokens, seed, banEos),
      (event) => {
        if (event.type !== "text") return;
        lastAt = performance.now();
        if (!firstAt) firstAt = lastAt;
      },
      new AbortController().signal,
    );
    const produced = result.usage.completionTokens;
    return { ttftMs: firstAt - started, tokens: produced, decodeTokensPerSecond: ((produced - 1) / (lastAt - firstAt)) * 1000, firstAt, lastAt };
  };
  return { once, close: () => host.dispose() };
}

async function httpPath(o: { modelPath: string; threads: number; concurrency: number; contextSize: number }): Promise<Path> {
  const modelsDir = mkdtempSync(join(tmpdir(), "lmx-bench-models-"));
  symlinkSync(o.modelPath, join(modelsDir, "bench.gguf"));
  const server = await startServerProcess(
    ["--models-dir", modelsDir, "--model", "bench", "--threads", String(o.threads), "--parallel", String(o.concurrency), "--context-size", String(o.contextSize)],
    { waitReady: true },
  );
  const client = new BenchHttpClient(server.url, o.concurrency);
  const once: Once = async (seed, tokens) => {
    const body = { model: "bench", prompt, max_tokens: tokens, temperature: 0, top_p: 1, top_k: 0, min_p: 0, seed, logit_bias: banEos };
    const { startAt, firstAt, lastAt, tokens: produced } = await timedStream(server.url, body, { client });
    return { ttftMs: firstAt - startAt, tokens: produced, decodeTokensPerSecond: ((produced - 1) / (lastAt - firstAt)) * 1000, firstAt, lastAt };
  };
  const close = async () => {
    client.close();
    await server.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  };
  return { once, close };
}

/** `runs` rounds of one measurement on each path, the order swapped every round. */
async function alternate<T>(runs: number, measure: (seed: number, path: Path) => Promise<T>, direct: Path, http: Path) {
  const results = { direct: [] as T[], http: [] as T[] };
  for (let i = 0; i < runs; i++) {
    const seed = 1000 + i;
    if (i % 2 === 0) {
      results.direct.push(await measure(seed, direct));
      results.http.push(await measure(seed, http));
    } else {
      results.http.push(await measure(seed, http));
      results.direct.push(await measure(seed, direct));
    }
  }
  return results;
}

function singleSummary(results: RunResult[]) {
  return {
    tokensPerSecond: summary(results.map((r) => r.decodeTokensPerSecond), 1),
    ttftMs: summary(results.map((r) => r.ttftMs), 3),
    tokensPerRun: results[0].tokens,
  };
}

interface ConcurrentRun {
  aggregate: number;
  results: RunResult[];
}

async function concurrentRun(once: Once, concurrency: number, tokens: number, seed: number): Promise<ConcurrentRun> {
  const results = await Promise.all(Array.from({ length: concurrency }, (_, i) => once(seed + i, tokens)));
  const start = Math.min(...results.map((r) => r.firstAt));
  const end = Math.max(...results.map((r) => r.lastAt));
  const total = results.reduce((sum, r) => sum + r.tokens, 0);
  return { aggregate: (total / (end - start)) * 1000, results };
}

function concurrentSummary(streams: number, runs: ConcurrentRun[]) {
  const all = runs.flatMap((run) => run.results);
  const ttft = summary(all.map((r) => r.ttftMs), 2);
  return {
    streams,
    aggregateTokensPerSecond: summary(runs.map((run) => run.aggregate), 1),
    perStreamTokensPerSecond: { median: round(summary(all.map((r) => r.decodeTokensPerSecond)).median, 1) },
    ttftMs: { median: ttft.median, p95: ttft.p95 },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureStartup(runs: number) {
  const modelsDir = mkdtempSync(join(tmpdir(), "lmx-bench-empty-"));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const server = await startServerProcess(["--models-dir", modelsDir]);
    times.push(server.listeningAfterMs);
    await server.stop();
  }
  rmSync(modelsDir, { recursive: true, force: true });
  return summary(times, 1);
}
