import { fork, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LmxError, unavailable } from "../errors.js";
import type { Logger } from "../telemetry/logger.js";
import { fromErrorData } from "./errors.js";
import type { FromRunner, ToRunner } from "./runner/protocol.js";
import type {
  EmbedRequest,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  GenerateResult,
  LoadOptions,
  ModelInfo,
  RunnerStats,
} from "./types.js";

export interface RunnerProcessOptions {
  load: LoadOptions;
  log: Logger;
  loadTimeoutMs: number;
  /** A request with no progress for this long means the runner hangs: it is killed. */
  hangTimeoutMs: number;
  signal?: AbortSignal;
}

export interface RunnerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when we asked it to stop. */
  expected: boolean;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onEvents?: (events: GenerateEvent[]) => void;
  lastProgress: number;
}

/**
 * libuv threads of a runner: one. node-llama-cpp runs each decode and each token's sampling as a work
 * item on libuv's thread pool (4 threads by default), so consecutive decodes start from different
 * threads, and llama.cpp's compute threads (a pool made per decode in the prebuilt binaries, OpenMP's
 * team of the calling thread in a local build) start around whichever thread that is. With one libuv
 * thread every step starts from the same thread. Measured on 2 cores (58M model, 2 threads,
 * node-llama-cpp alone): 47-56 tokens/s with the default pool, 103-104 with one libuv thread; 1 thread:
 * 68 and 74. A runner's steps run one after another anyway, so nothing waits for the pool.
 * One worker also runs work items in queue order, which our node-llama-cpp patch relies on to queue
 * each sampling step right behind its decode (patches/README.md): it does so only when this is "1".
 */
const RUNNER_UV_THREADS = "1";

/** The runner's entry point: compiled JS in production, TypeScript (through tsx) when run from source. */
function runnerEntry(): { path: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    const tsx = createRequire(here).resolve("tsx");
    return { path: fileURLToPath(new URL("./runner/main.ts", here)), execArgv: ["--import", pathToFileURL(tsx).href] };
  }
  return { path: fileURLToPath(new URL("./runner/main.js", here)), execArgv: [] };
}

/**
 * The API side of one runner child process. Requests are multiplexed by id over IPC; when the child
 * dies, every request in flight fails with a 503 and the owner (LoadedModel) decides what comes next.
 */
export class RunnerProcess {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly exitListeners: Array<(exit: RunnerExit) => void> = [];
  private stopping = false;
  private exited: RunnerExit | null = null;
  private readonly watchdog: NodeJS.Timeout;

  private constructor(
    private readonly child: ChildProcess,
    readonly info: ModelInfo,
    private readonly options: RunnerProcessOptions,
  ) {
    child.on("message", (message: FromRunner) => this.onMessage(message));
    this.watchdog = setInterval(() => this.checkProgress(), Math.min(1000, options.hangTimeoutMs)).unref();
  }

  static async start(options: RunnerProcessOptions): Promise<RunnerProcess> {
    const { path, execArgv } = runnerEntry();
    const child = fork(path, [], {
      execArgv,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      env: { ...process.env, LMX_RUNNER_MODEL: options.load.id, UV_THREADPOOL_SIZE: RUNNER_UV_THREADS },
    });
    const log = options.log.child({ model: options.load.id, runner_pid: child.pid });
    forwardOutput(child, log);

    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const fail = (error: Error) => {
        cleanup();
        child.kill("SIGKILL");
        reject(error);
      };
      const onMessage = (message: FromRunner) => {
        if (message.t === "log") return logFromRunner(log, message.level, message.message);
        if (message.t === "loaded") {
          cleanup();
          resolve(message.info);
        } else if (message.t === "load_failed") {
          fail(fromErrorData(message.error));
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        reject(new LmxError(`The runner for '${options.load.id}' exited while loading the model (code ${code}, signal ${signal}).`, {
          status: 500,
          type: "server_error",
          code: "model_load_failed",
        }));
      };
      const onAbort = () => fail(new LmxError("The model load was cancelled.", { status: 499, type: "invalid_request_error", code: "load_cancelled" }));
      const timer = setTimeout(
        () => fail(new LmxError(`Loading '${options.load.id}' took longer than ${options.loadTimeoutMs} ms.`, { status: 504, type: "server_error", code: "model_load_timeout" })),
        options.loadTimeoutMs,
      );
      const cleanup = () => {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        options.signal?.removeEventListener("abort", onAbort);
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      child.send({ t: "load", options: options.load } satisfies ToRunner);
    });

    const runner = new RunnerProcess(child, info, { ...options, log });
    child.once("exit", (code, signal) => runner.onExit(code, signal));
    return runner;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  onExitOnce(listener: (exit: RunnerExit) => void): void {
    if (this.exited) listener(this.exited);
    else this.exitListeners.push(listener);
  }

  generate(request: GenerateRequest, onEvents: (events: GenerateEvent[]) => void, signal: AbortSignal): Promise<GenerateResult> {
    return this.call((id) => ({ t: "generate", id, request }), signal, onEvents) as Promise<GenerateResult>;
  }

  embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    return this.call((id) => ({ t: "embed", id, request }), signal) as Promise<EmbedResult>;
  }

  tokenize(text: string, signal: AbortSignal): Promise<number[]> {
    return this.call((id) => ({ t: "tokenize", id, text }), signal) as Promise<number[]>;
  }

  stats(): Promise<RunnerStats> {
    return this.call((id) => ({ t: "stats", id }), AbortSignal.timeout(5000)) as Promise<RunnerStats>;
  }

  /** Ask the runner to exit, and kill it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.onExitOnce(() => resolve()));
    this.send({ t: "shutdown" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }

  private call(build: (id: number) => ToRunner, signal: AbortSignal, onEvents?: (events: GenerateEvent[]) => void): Promise<unknown> {
    if (!this.alive) return Promise.reject(this.crashError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.send({ t: "abort", id });
      const done = () => signal.removeEventListener("abort", onAbort);
      this.pending.set(id, {
        resolve: (value) => {
          done();
          resolve(value);
        },
        reject: (error) => {
          done();
          reject(error);
        },
        onEvents,
        lastProgress: performance.now(),
      });
      signal.addEventListener("abort", onAbort, { once: true });
      this.send(build(id));
      if (signal.aborted) onAbort();
    });
  }

  private send(message: ToRunner): void {
    if (this.child.connected) this.child.send(message);
  }

  private onMessage(message: FromRunner): void {
    switch (message.t) {
      case "log":
        logFromRunner(this.options.log, message.level, message.message);
        return;
      case "events": {
        const now = performance.now();
        for (const { id, events } of message.batches) {
          const pending = this.pending.get(id);
          if (!pending) continue;
          pending.lastProgress = now;
          pending.onEvents?.(events);
        }
        return;
      }
      case "result": {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.events) pending?.onEvents?.(message.events);
        pending?.resolve(message.value);
        return;
      }
      case "error": {
        const pending = this.pending.get(message.id);
        this.pending.delete(message.id);
        // While stopping, the runner aborts what it still runs: that is the unload, not the client.
        pending?.reject(this.stopping ? this.unloadedError() : fromErrorData(message.error));
        return;
      }
      default:
        return;
    }
  }

  private checkProgress(): void {
    const now = performance.now();
    for (const pending of this.pending.values()) {
      if (now - pending.lastProgress > this.options.hangTimeoutMs) {
        this.options.log.error({ hang_timeout_ms: this.options.hangTimeoutMs }, "runner made no progress; killing it");
        this.child.kill("SIGKILL");
        return;
      }
    }
  }

  private unloadedError(): LmxError {
    return unavailable(`The model '${this.options.load.id}' was unloaded while serving this request.`, "model_unloaded", 1);
  }

  private crashError(): LmxError {
    return unavailable(
      `The model '${this.options.load.id}' stopped unexpectedly while serving this request. It is being restarted; retry the request.`,
      "model_crashed",
      1,
    );
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(this.watchdog);
    this.exited = { code, signal, expected: this.stopping };
    if (!this.stopping) this.options.log.error({ code, signal }, "runner exited unexpectedly");
    const error = this.stopping ? this.unloadedError() : this.crashError();
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const listener of this.exitListeners.splice(0)) listener(this.exited);
  }
}

function logFromRunner(log: Logger, level: "debug" | "info" | "warn" | "error", message: string): void {
  log[level]({ source: "runner" }, message);
}

/** The runner's own stdout/stderr (native libraries write there) go to the log, line by line. */
function forwardOutput(child: ChildProcess, log: Logger): void {
  for (const [stream, level] of [[child.stdout, "info"], [child.stderr, "warn"]] as const) {
    let buffered = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf("\n")) !== -1) {
        const line = buffered.slice(0, newline).trimEnd();
        buffered = buffered.slice(newline + 1);
        if (line) log[level]({ source: "runner-output" }, line);
      }
    });
  }
}
