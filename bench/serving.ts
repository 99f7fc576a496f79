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
}

interface RunResult {
  ttftMs: number;
  tokens: number;
  decodeTokensPerSecond: number;
  firstAt: number;
  lastAt: number;
}

/** stories260K's end-of-story token is banned so every run decodes exactly `tokens` tokens. */
const banEos = { 2: -100 };
const prompt = "Once upon a time, there was a little girl named Lily.";

export async function benchServing(options: ServingBenchOptions = {}) {
  const modelPath = options.modelPath ?? testModelPath("stories260K");
  const threads = options.threads ?? 1;
  const tokens = options.tokens ?? 256;
  const runs = options.runs ?? 7;
  const concurrency = options.concurrency ?? 8;
  const contextSize = 1024;

  const direct = await measureDirect({ modelPath, threads, tokens, runs, concurrency, contextSize });
  const http = await measureHttp({ modelPath, threads, tokens, runs, concurrency, contextSize });
  const startup = await measureStartup(5);

  const ratio = http.single.tokensPerSecond.median / direct.single.tokensPerSecond.median;
  const ratioConcurrent = http.concurrent.aggregateTokensPerSecond.median / direct.concurrent.aggregateTokensPerSecond.median;
  return {
    model: modelPath.split("/").pop(),
    settings: { threads, tokens, runs, concurrency, context_size: contextSize, parallel: concurrency },
    direct,
    http,
    ratios: {
      single_stream_http_over_direct: round(ratio, 3),
      concurrent_http_over_direct: round(ratioConcurrent, 3),
      server_added_ttft_p50_ms: round(http.single.ttftMs.median - direct.single.ttftMs.median, 3),
      server_added_ttft_p95_ms: round(http.single.ttftMs.p95 - direct.single.ttftMs.p95, 3),
    },
    startup_to_listening_ms: startup,
    targets: {
      single_stream_http_over_direct: ">= 0.97",
      server_added_ttft_p50_ms: "< 2",
      startup_to_listening_ms: "< 1000",
    },
  };
}

async function measureDirect(o: { modelPath: string; threads: number; tokens: number; runs: number; concurrency: number; contextSize: number }) {
  const host = await loadDirectEngine({ path: o.modelPath, parallel: o.concurrency, contextSize: o.contextSize, threads: o.threads });
  const once = async (seed: number): Promise<RunResult> => {
    const started = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    const result = await host.generate(
      greedyCompletion(prompt, o.tokens, seed, banEos),
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
  try {
    await once(0); // warm-up
    const single = await sequential(o.runs, once);
    const concurrent = await concurrentRuns(o.runs, o.concurrency, once);
    return { single: singleSummary(single), concurrent };
  } finally {
    await host.dispose();
  }
}

async function measureHttp(o: { modelPath: string; threads: number; tokens: number; runs: number; concurrency: number; contextSize: number }) {
  const modelsDir = mkdtempSync(join(tmpdir(), "lmx-bench-models-"));
  symlinkSync(o.modelPath, join(modelsDir, "bench.gguf"));
  const server = await startServerProcess(
    ["--models-dir", modelsDir, "--model", "bench", "--threads", String(o.threads), "--parallel", String(o.concurrency), "--context-size", String(o.contextSize)],
    { waitReady: true },
  );
  const client = new BenchHttpClient(server.url, o.concurrency);
  const once = async (seed: number): Promise<RunResult> => {
    const body = { model: "bench", prompt, max_tokens: o.tokens, temperature: 0, top_p: 1, top_k: 0, min_p: 0, seed, logit_bias: banEos };
    const { startAt, firstAt, lastAt, tokens } = await timedStream(server.url, body, { client });
    return { ttftMs: firstAt - startAt, tokens, decodeTokensPerSecond: ((tokens - 1) / (lastAt - firstAt)) * 1000, firstAt, lastAt };
  };
  try {
    await once(0);
    const single = await sequential(o.runs, once);
    const concurrent = await concurrentRuns(o.runs, o.concurrency, once);
    return { single: singleSummary(single), concurrent };
  } finally {
    client.close();
    await server.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  }
}

async function sequential(runs: number, once: (seed: number) => Promise<RunResult>): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await once(i + 1));
  return results;
}

function singleSummary(results: RunResult[]) {
  return {
    tokensPerSecond: summary(results.map((r) => r.decodeTokensPerSecond), 1),
    ttftMs: summary(results.map((r) => r.ttftMs), 3),
    tokensPerRun: results[0].tokens,
  };
}

async function concurrentRuns(runs: number, concurrency: number, once: (seed: number) => Promise<RunResult>) {
  const aggregate: number[] = [];
  const perStream: number[] = [];
  const ttft: number[] = [];
  for (let run = 0; run < Math.max(3, Math.ceil(runs / 2)); run++) {
    const results = await Promise.all(Array.from({ length: concurrency }, (_, i) => once(100 * run + i)));
    const start = Math.min(...results.map((r) => r.firstAt));
    const end = Math.max(...results.map((r) => r.lastAt));
    const total = results.reduce((sum, r) => sum + r.tokens, 0);
    aggregate.push((total / (end - start)) * 1000);
    perStream.push(...results.map((r) => r.decodeTokensPerSecond));
    ttft.push(...results.map((r) => r.ttftMs));
  }
  return {
    streams: concurrency,
    aggregateTokensPerSecond: summary(aggregate, 1),
    perStreamTokensPerSecond: { median: round(summary(perStream).median, 1) },
    ttftMs: { median: summary(ttft, 2).median, p95: summary(ttft, 2).p95 },
  };
}

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
