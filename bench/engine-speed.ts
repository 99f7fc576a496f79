/**
 * Engine speed: decode tokens/s of LMX through HTTP (the built `lmx serve`: API process, runner process,
 * SSE), of the same engine called in this process (ModelHost), of node-llama-cpp's own API with none of
 * LMX's code (`sequence.evaluate`: the binding's speed, so LMX's cost and the binding's can be told
 * apart), and — when `LMX_LLAMA_SERVER` names a
 * `llama-server` binary (scripts/build-llama-server.sh builds one from the llama.cpp source node-llama-cpp
 * bundles) — of llama.cpp's own server, on the same model file, prompt, thread count, slots, context and
 * token count. The ratios say whether LMX drives the engine as well as llama.cpp itself does.
 *
 *   npx tsc -p tsconfig.json && npx tsx bench/engine-speed.ts [case…]
 *   LMX_LLAMA_SERVER=~/.cache/lmx/llama-server/bin/llama-server npx tsx bench/engine-speed.ts
 *
 * Environment: ENGINE_SPEED_RUNS (rounds per engine, default 7). The engines take turns, round by round
 * (rotating who goes first), so a change in the machine's load hits all of them alike; the load average
 * is recorded with every case. Figures are medians.
 */
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { getLlama, LlamaLogLevel, TokenBias, type LlamaContextSequence, type Token } from "node-llama-cpp";
import type { ModelHost } from "../src/engine/runner/model-host.js";
import { generateModel, presets, testModelPath } from "../test/support/models.js";
import { greedyCompletion, loadDirectEngine } from "./lib/direct-engine.js";
import { timedStream, type StreamTiming } from "./lib/timed-stream.js";
import { startLlamaServer } from "./lib/llama-server.js";
import { relaunchWithOneUvThread } from "./lib/one-uv-thread.js";
import { startServerProcess } from "./lib/server-process.js";
import { round, summary } from "./lib/stats.js";

export interface EngineSpeedCase {
  name: string;
  model: "bench-58M" | "stories260K";
  threads: number;
  /** Concurrent requests (and sequences / slots of the context). */
  streams: number;
  /** Generated tokens per request. */
  tokens: number;
}

export const engineSpeedCases: EngineSpeedCase[] = [
  { name: "58M-1thread", model: "bench-58M", threads: 1, streams: 1, tokens: 64 },
  { name: "58M-2threads", model: "bench-58M", threads: 2, streams: 1, tokens: 64 },
  { name: "58M-2threads-4streams", model: "bench-58M", threads: 2, streams: 4, tokens: 64 },
  { name: "stories260K-1thread", model: "stories260K", threads: 1, streams: 1, tokens: 256 },
];

export interface EngineSpeedOptions {
  /** Case names to run (default: all). */
  cases?: string[];
  runs?: number;
  /** Path of a llama-server binary; default $LMX_LLAMA_SERVER; none = compare LMX with itself only. */
  llamaServer?: string | null;
}

const prompt = "Once upon a time, there was a little girl named Lily.";
const contextSize = 1024;

type Engine = "lmx_http" | "direct" | "node_llama_cpp" | "llama_server";
/** One round: a request per stream, all at once. */
type Round = () => Promise<StreamTiming[]>;

export async function benchEngineSpeed(options: EngineSpeedOptions = {}) {
  const runs = options.runs ?? Number(process.env.ENGINE_SPEED_RUNS ?? 7);
  const llamaServer = options.llamaServer === undefined ? process.env.LMX_LLAMA_SERVER || null : options.llamaServer;
  const selected = options.cases?.length ? engineSpeedCases.filter((c) => options.cases!.includes(c.name)) : engineSpeedCases;
  const results = [];
  for (const benchCase of selected) {
    console.error(`engine-speed: ${benchCase.name}…`);
    results.push(await runCase(benchCase, runs, llamaServer));
  }
  return {
    llama_server: llamaServer,
    node_llama_cpp_binary: await engineBinary(),
    settings: { runs, context_size: contextSize, prompt, sampling: "greedy (temperature 0), end-of-generation tokens banned" },
    cases: results,
    targets: {
      "58M-2threads lmx_http / llama_server": ">= 0.95",
      "58M-2threads-4streams lmx_http / llama_server": ">= 0.95",
      "stories260K-1thread lmx_http / llama_server": ">= 0.95",
    },
  };
}

async function runCase(c: EngineSpeedCase, runs: number, llamaServerBinary: string | null) {
  const modelPath = c.model === "stories260K" ? testModelPath("stories260K") : await generateModel(presets.benchEngineBound);
  const banned = await endOfGenerationTokens(modelPath);
  const logitBias = Object.fromEntries(banned.map((token) => [String(token), -100]));
  const loadBefore = loadavg();
  const rounds = new Map<Engine, Round>();
  const cleanups: Array<() => Promise<void>> = [];
  try {
    // LMX as a user runs it.
    const modelsDir = mkdtempSync(join(tmpdir(), "lmx-engine-speed-"));
    symlinkSync(modelPath, join(modelsDir, "bench.gguf"));
    cleanups.push(async () => rmSync(modelsDir, { recursive: true, force: true }));
    const lmx = await startServerProcess(
      ["--models-dir", modelsDir, "--model", "bench", "--threads", String(c.threads), "--parallel", String(c.streams), "--context-size", String(contextSize)],
      { waitReady: true },
    );
    cleanups.push(() => lmx.stop());
    const body = (seed: number) => ({
      model: "bench",
      prompt,
      max_tokens: c.tokens,
      temperature: 0,
      top_k: 0,
      top_p: 1,
      min_p: 0,
      repeat_penalty: 1,
      seed,
      logit_bias: logitBias,
    });
    rounds.set("lmx_http", httpRound(lmx.url, c.streams, body));
    await warmUp(lmx.url, body);

    // The same engine without the API process, IPC and HTTP.
    const host = await loadDirectEngine({ path: modelPath, parallel: c.streams, contextSize, threads: c.threads });
    cleanups.push(() => host.dispose());
    rounds.set("direct", directRound(host, c, logitBias));
    // As many short requests as the servers get: the same V8 warm-up, and the thread tuner past its
    // first probes (which come often at first and then ever more rarely), as in the runner.
    const shortRound = directRound(host, { ...c, streams: 1, tokens: 4 }, logitBias);
    for (let i = 0; i < warmUpRequests; i++) await shortRound();

    // node-llama-cpp alone, none of LMX's code: the binding's own speed, to tell LMX's cost from its.
    const raw = await rawEngine(modelPath, c, banned);
    cleanups.push(raw.dispose);
    rounds.set("node_llama_cpp", raw.round);

    if (llamaServerBinary) {
      const server = await startLlamaServer({
        binary: llamaServerBinary,
        modelPath,
        threads: c.threads,
        parallel: c.streams,
        contextSize,
        flashAttention: "auto", // LMX leaves it to node-llama-cpp, whose default is "auto" too
      });
      cleanups.push(() => server.stop());
      const llamaServerBody = (seed: number) => ({ ...body(seed), ignore_eos: true });
      rounds.set("llama_server", httpRound(server.url, c.streams, llamaServerBody));
      await warmUp(server.url, llamaServerBody);
    }

    const engines = [...rounds.keys()];
    const timings = new Map<Engine, StreamTiming[][]>(engines.map((e) => [e, []]));
    for (const engine of engines) await rounds.get(engine)!(); // warm-up
    for (let run = 0; run < runs; run++) {
      // Rotate the order so no engine always runs right after another's burst.
      for (let i = 0; i < engines.length; i++) {
        const engine = engines[(run + i) % engines.length];
        timings.get(engine)!.push(await rounds.get(engine)!());
      }
    }

    const perEngine: Record<string, ReturnType<typeof summarize> & { threads_at_end?: number }> = Object.fromEntries(
      engines.map((engine) => [engine, summarize(c, timings.get(engine)!)]),
    );
    // The thread tuner may have settled on fewer threads than configured (a busy machine).
    perEngine.direct.threads_at_end = host.threads;
    const rate = (engine: Engine) => perEngine[engine]?.tokens_per_second.median;
    const ratio = (a: Engine, b: Engine) => (rate(a) && rate(b) ? round(rate(a)! / rate(b)!, 3) : null);
    return {
      case: c,
      model: modelPath.split("/").pop(),
      measure: c.streams === 1 ? "decode tokens/s of one stream (first to last token)" : `aggregate tokens/s of ${c.streams} concurrent streams (first request sent to last token)`,
      load_average_before: loadBefore.map((l) => round(l, 2)),
      load_average_after: loadavg().map((l) => round(l, 2)),
      engines: perEngine,
      ratios: {
        lmx_http_over_llama_server: ratio("lmx_http", "llama_server"),
        direct_over_llama_server: ratio("direct", "llama_server"),
        node_llama_cpp_over_llama_server: ratio("node_llama_cpp", "llama_server"),
        direct_over_node_llama_cpp: ratio("direct", "node_llama_cpp"),
        lmx_http_over_direct: ratio("lmx_http", "direct"),
      },
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

/**
 * Short requests before measuring a server, as one in use has served: V8 optimises LMX's API process
 * only after some hundreds of requests (its cold code competes with the model's threads for the cores).
 * llama-server gets the same, though its C++ has nothing to warm.
 */
const warmUpRequests = 200;
async function warmUp(url: string, body: (seed: number) => Record<string, unknown>): Promise<void> {
  for (let i = 0; i < warmUpRequests; i++) await timedStream(url, { ...body(1_000_000 + i), max_tokens: 4 });
}

function httpRound(url: string, streams: number, body: (seed: number) => Record<string, unknown>): Round {
  let seed = 1;
  return () => Promise.all(Array.from({ length: streams }, () => timedStream(url, body(seed++))));
}

function directRound(host: ModelHost, c: EngineSpeedCase, logitBias: Record<string, number>): Round {
  let seed = 1;
  const once = async (): Promise<StreamTiming> => {
    const request = greedyCompletion(
      prompt,
      c.tokens,
      seed++,
      Object.fromEntries(Object.entries(logitBias).map(([token, bias]) => [Number(token), bias])),
    );
    const startAt = performance.now();
    let firstAt = 0;
    let lastAt = 0;
    const result = await host.generate(
      request,
      (event) => {
        if (event.type !== "text" || !event.text) return;
        lastAt = performance.now();
        firstAt ||= lastAt;
      },
      new AbortController().signal,
    );
    return { startAt, firstAt, lastAt, tokens: result.usage.completionTokens };
  };
  return () => Promise.all(Array.from({ length: c.streams }, once));
}

/**
 * The same model, threads and sequences through node-llama-cpp's own API (`sequence.evaluate`, greedy,
 * end-of-generation tokens banned), one sequence per stream: what the binding does without LMX.
 */
async function rawEngine(modelPath: string, c: EngineSpeedCase, banned: number[]) {
  const llama = await getLlama({ gpu: false, maxThreads: c.threads, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize, sequences: c.streams, threads: c.threads });
  const sequences = Array.from({ length: c.streams }, () => context.getSequence());
  const bias = new TokenBias(model.tokenizer);
  for (const token of banned) bias.set(token as Token, "never");
  let salt = 0;
  const once = async (sequence: LlamaContextSequence): Promise<StreamTiming> => {
    await sequence.clearHistory();
    const startAt = performance.now();
    // A different prompt each time, as the other engines get (their seeds differ; greedy ignores them).
    const tokens = model.tokenize(`${prompt}${" ".repeat(salt++ % 3)}`, false);
    let firstAt = 0;
    let lastAt = 0;
    let count = 0;
    for await (const token of sequence.evaluate(tokens, { temperature: 0, tokenBias: bias })) {
      void token;
      lastAt = performance.now();
      firstAt ||= lastAt;
      if (++count >= c.tokens) break;
    }
    return { startAt, firstAt, lastAt, tokens: count };
  };
  return {
    round: (() => Promise.all(sequences.map(once))) as Round,
    dispose: async () => {
      await context.dispose();
      await model.dispose();
    },
  };
}

function summarize(c: EngineSpeedCase, rounds: StreamTiming[][]) {
  const rates = rounds.map((streams) => {
    if (c.streams === 1) {
      const [s] = streams;
      return ((s.tokens - 1) / (s.lastAt - s.firstAt)) * 1000;
    }
    const start = Math.min(...streams.map((s) => s.startAt));
    const end = Math.max(...streams.map((s) => s.lastAt));
    return (streams.reduce((sum, s) => sum + s.tokens, 0) / (end - start)) * 1000;
  });
  const ttft = rounds.flat().map((s) => s.firstAt - s.startAt);
  const tokens = rounds.flat().map((s) => s.tokens);
  return {
    tokens_per_second: summary(rates, 1),
    ttft_ms: { median: summary(ttft, 2).median },
    tokens_per_request: { min: Math.min(...tokens), max: Math.max(...tokens) },
  };
}

/** Every token the model would end generation on, so each request decodes exactly `tokens` tokens. */
async function endOfGenerationTokens(modelPath: string): Promise<number[]> {
  const model = await (await benchLlama()).loadModel({ modelPath, vocabOnly: true });
  try {
    const size = (model.fileInfo.metadata.tokenizer?.ggml?.tokens as unknown[] | undefined)?.length ?? 0;
    const banned: number[] = [];
    for (let token = 0; token < size; token++) if (model.isEogToken(token as never)) banned.push(token);
    return banned;
  } finally {
    await model.dispose();
  }
}

/** Which native build node-llama-cpp loads here (prebuilt or a local source build, and its CPU variant). */
async function engineBinary() {
  const llama = await benchLlama();
  return { build: llama.buildType, cpu: llama.systemInfo.trim() };
}

/** One Llama instance for the benchmark's own look-ups (not disposed: its bindings are shared with ModelHost's). */
let llamaForBench: ReturnType<typeof getLlama> | null = null;
const benchLlama = () => (llamaForBench ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false }));

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  relaunchWithOneUvThread();
  const cases = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
  const result = await benchEngineSpeed({ cases });
  console.log(JSON.stringify(result, null, 2));
  for (const c of result.cases) {
    const r = c.ratios;
    const line = Object.entries(c.engines).map(([engine, s]) => `${engine} ${s.tokens_per_second.median}`).join(", ");
    console.error(`${c.case.name} (load ${c.load_average_before[0]}): ${line} tok/s; lmx_http/llama_server ${r.lmx_http_over_llama_server ?? "-"}, direct/llama_server ${r.direct_over_llama_server ?? "-"}, lmx_http/direct ${r.lmx_http_over_direct}, node_llama_cpp/llama_server ${r.node_llama_cpp_over_llama_server ?? "-"}`);
  }
}
