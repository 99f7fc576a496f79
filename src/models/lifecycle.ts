import { parseKeepAlive, type KeepAlive } from "../config/duration.js";
import type { LmxConfig, ModelSettings } from "../config/schema.js";
import { insufficientStorage, LmxError, modelNotFound, unavailable } from "../errors.js";
import { LoadedModel } from "../engine/loaded-model.js";
import { defaultThreads } from "../engine/threads.js";
import type { LoadOptions, SpeculativeOptions } from "../engine/types.js";
import type { EventBus, LmxEvents } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import { estimateMemory, readGgufSummary, type MemoryEstimate } from "./gguf-info.js";
import { formatBytes, type MemoryGuard } from "./memory.js";
import type { ModelRegistry } from "./registry.js";

/** Sequences per model when nothing configures it: a few clients at once without much memory. */
export const defaultParallel = 4;
/** Context per sequence when nothing configures it (capped by what the model was trained for). */
export const defaultContextSize = 4096;

export interface ModelManagerDeps {
  config: () => LmxConfig;
  registry: ModelRegistry;
  memory: MemoryGuard;
  events: EventBus;
  log: Logger;
}

export interface LoadRequest {
  overrides?: ModelSettings;
  /** Overrides the model's keep-alive; absent: the per-model setting, else `defaultKeepAlive`. */
  keepAlive?: KeepAlive;
  /** Keep-alive when neither the request nor the model's settings give one; absent: config `keep_alive`. */
  defaultKeepAlive?: KeepAlive;
  /** Pinned models (loaded by config or at start) are never evicted nor unloaded by keep-alive. */
  pinned?: boolean;
  signal?: AbortSignal;
}

interface Entry {
  model: LoadedModel;
  pinned: boolean;
  /** Idle time before the model is unloaded; null keeps it loaded. */
  keepAliveMs: number | null;
  memory: MemoryEstimate;
}

/**
 * The model lifecycle of one LMX instance: load (once, however many ask at the same time), just-in-time
 * loading for requests, keep-alive expiry, least-recently-used eviction under `max_loaded_models` and
 * the memory budget, and unloading that lets in-flight requests finish first.
 */
export class ModelManager {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private readonly sweeper: NodeJS.Timeout;
  private lastMemoryWarning = 0;

  constructor(private readonly deps: ModelManagerDeps) {
    this.sweeper = setInterval(() => this.sweep(), 1000).unref();
  }

  list(): LoadedModel[] {
    return [...this.entries.values()].map((entry) => entry.model);
  }

  get(id: string): LoadedModel | undefined {
    return this.entries.get(id)?.model;
  }

  /** How a loaded model is held: pinned, keep-alive, estimated memory, when it expires. */
  describe(id: string) {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const idle = entry.model.scheduler.inFlight === 0 && entry.model.scheduler.queued === 0;
    return {
      pinned: entry.pinned,
      keep_alive_ms: entry.keepAliveMs,
      expires_at:
        entry.pinned || entry.keepAliveMs === null || !idle ? null : new Date(entry.model.lastUsedAt + entry.keepAliveMs).toISOString(),
      memory_bytes: entry.memory.ramBytes + entry.memory.vramBytes,
      ram_bytes: entry.memory.ramBytes,
      vram_bytes: entry.memory.vramBytes,
    };
  }

  get loadingCount(): number {
    return this.loading.size;
  }

  /** Estimated memory of every loaded model together. */
  modelsBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.memory.ramBytes + entry.memory.vramBytes;
    return total;
  }

  /**
   * The model a request names, loading it just in time when it is on disk (and JIT is on). A request's
   * keep_alive replaces the model's for the time after this request.
   */
  async use(name: string, options: { keepAlive?: KeepAlive; signal?: AbortSignal; overrides?: ModelSettings } = {}): Promise<LoadedModel> {
    const loaded = this.entries.get(name);
    if (loaded) {
      if (options.keepAlive !== undefined && !loaded.pinned) loaded.keepAliveMs = parseKeepAlive(options.keepAlive);
      return loaded.model;
    }
    const pending = this.loading.get(name);
    if (pending) return pending;
    if (!this.deps.config().jit_loading || !this.deps.registry.find(name)) throw modelNotFound(name);
    return this.load(name, { keepAlive: options.keepAlive, signal: options.signal, overrides: options.overrides });
  }

  /** After a request: a keep-alive of 0 unloads the model as soon as it is idle. */
  requestFinished(id: string): void {
    const entry = this.entries.get(id);
    if (entry && entry.keepAliveMs === 0 && !entry.pinned) this.sweep();
  }

  /** Resolve what a load needs: the file and its settings (config defaults < per-model config < overrides). */
  async resolve(idOrPath: string, overrides: ModelSettings = {}): Promise<{ options: LoadOptions; settings: ModelSettings }> {
    const file = this.deps.registry.find(idOrPath);
    if (!file) throw modelNotFound(idOrPath);
    const config = this.deps.config();
    const settings: ModelSettings = { ...config.model_defaults, ...config.models[file.id], ...stripUndefined(overrides) };
    let trained: number | null = null;
    try {
      trained = (await readGgufSummary(file.path)).contextLength;
    } catch (err) {
      throw new LmxError(`'${file.id}' is not a readable GGUF model: ${(err as Error).message}`, {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_model_file",
        param: "model",
      });
    }
    const wanted = settings.context_size ?? defaultContextSize;
    const options: LoadOptions = {
      id: file.id,
      path: file.path,
      parallel: settings.parallel ?? defaultParallel,
      contextSize: trained ? Math.min(wanted, trained) : wanted,
      threads: settings.threads ?? defaultThreads(),
      gpu: config.gpu,
      gpuLayers: config.gpu === "cpu" ? 0 : (settings.gpu_layers ?? "auto"),
      batchSize: settings.batch_size ?? null,
      flashAttention: settings.flash_attention ?? null,
      prefixCache: settings.prefix_cache ?? true,
      speculative: this.speculativeOptions(settings),
      streamIntervalMs: config.runner.stream_interval_ms,
    };
    return { options, settings };
  }

  private speculativeOptions(settings: ModelSettings): SpeculativeOptions | null {
    const spec = settings.speculative;
    if (!spec) return null;
    if (spec.prompt_lookup) return { kind: "prompt_lookup", maxTokens: spec.max_draft_tokens ?? 3 };
    if (!spec.draft_model) return null;
    const draft = this.deps.registry.find(spec.draft_model);
    if (!draft) {
      throw new LmxError(`The draft model '${spec.draft_model}' (speculative.draft_model) was not found.`, {
        status: 400,
        type: "invalid_request_error",
        code: "model_not_found",
        param: "speculative.draft_model",
      });
    }
    const maxTokens = spec.max_draft_tokens ?? 16;
    return {
      kind: "draft",
      draftId: draft.id,
      draftPath: draft.path,
      minTokens: Math.min(spec.min_draft_tokens ?? maxTokens, maxTokens),
      maxTokens,
      minConfidence: spec.min_confidence ?? 0.6,
    };
  }

  async load(idOrPath: string, request: LoadRequest = {}): Promise<LoadedModel> {
    const { options, settings } = await this.resolve(idOrPath, request.overrides);
    const keepAliveMs = request.pinned
      ? null
      : parseKeepAlive(request.keepAlive ?? settings.keep_alive ?? request.defaultKeepAlive ?? this.deps.config().keep_alive);

    const existing = this.entries.get(options.id);
    if (existing) {
      if (!sameSettings(existing.model.options, options)) {
        // A load with other settings swaps the model: the old instance finishes its requests first.
        await this.unload(options.id, "request");
        return this.load(idOrPath, request);
      }
      existing.pinned ||= request.pinned ?? false;
      if (!existing.pinned && request.keepAlive !== undefined) existing.keepAliveMs = keepAliveMs;
      return existing.model;
    }
    const inProgress = this.loading.get(options.id);
    if (inProgress) return inProgress;

    const promise = this.spawn(options, { pinned: request.pinned ?? false, keepAliveMs }, request.signal);
    this.loading.set(options.id, promise);
    try {
      return await promise;
    } finally {
      this.loading.delete(options.id);
    }
  }

  async unload(id: string, reason: LmxEvents["model_unloaded"]["reason"] = "request", graceMs?: number): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) throw modelNotFound(id);
    this.entries.delete(id);
    await entry.model.unload(graceMs ?? this.deps.config().unload_grace_ms);
    this.deps.log.info({ model: id, reason }, "model unloaded");
    this.deps.events.emit("model_unloaded", { model: id, reason });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.allSettled([...this.entries.keys()].map((id) => this.unload(id, "shutdown", 2000)));
  }

  private async spawn(options: LoadOptions, hold: { pinned: boolean; keepAliveMs: number | null }, signal?: AbortSignal): Promise<LoadedModel> {
    const config = this.deps.config();
    const log = this.deps.log.child({ model: options.id });
    const shape = {
      contextSize: options.contextSize ?? defaultContextSize,
      parallel: options.parallel,
      gpuLayers: options.gpuLayers === 0 ? 0 : typeof options.gpuLayers === "number" ? options.gpuLayers : 0,
      batchSize: options.batchSize ?? undefined,
    };
    const memory = await estimateMemory(options.path, shape);
    if (options.speculative?.kind === "draft") {
      // The draft model runs beside it in the same runner, with a context of the same shape.
      const draft = await estimateMemory(options.speculative.draftPath, shape);
      memory.ramBytes += draft.ramBytes;
      memory.vramBytes += draft.vramBytes;
    }
    await this.makeRoom(options.id, memory.ramBytes + memory.vramBytes);

    const started = performance.now();
    log.info({ path: options.path, parallel: options.parallel, threads: options.threads, context_size: options.contextSize, estimate_bytes: memory.ramBytes + memory.vramBytes }, "loading model");
    try {
      const model = await LoadedModel.load(
        options,
        {
          hangTimeoutMs: config.runner.hang_timeout_ms,
          loadTimeoutMs: config.runner.load_timeout_ms,
          maxCrashes: config.runner.max_crashes,
          crashWindowMs: config.runner.crash_window_ms,
          maxQueue: config.queue.max_size,
          retryAfterSeconds: config.queue.retry_after_seconds,
          // Read live, so a config reload changes limits of loaded models too.
          clientLimit: (client) => {
            const clients = this.deps.config().clients;
            return clients.overrides[client] ?? clients.max_concurrent;
          },
        },
        this.deps.log,
        { onStateChange: (loaded, state) => this.deps.events.emit("model_state", { model: loaded.id, state }) },
        signal,
      );
      this.entries.set(options.id, { model, pinned: hold.pinned, keepAliveMs: hold.keepAliveMs, memory });
      const duration = Math.round(performance.now() - started);
      log.info({ duration_ms: duration, context_size: model.info.contextSize, gpu: model.info.gpu }, "model loaded");
      this.deps.events.emit("model_loaded", { model: options.id, pid: model.pid, duration_ms: duration, memory_bytes: memory.ramBytes + memory.vramBytes, pinned: hold.pinned });
      return model;
    } catch (err) {
      log.error({ err }, "model load failed");
      if (err instanceof LmxError) throw err;
      throw new LmxError(`Failed to load model '${options.id}'. The server log has the details.`, {
        status: 500,
        type: "server_error",
        code: "model_load_failed",
        cause: err,
      });
    }
  }

  /**
   * Unload least-recently-used, unpinned models until the new one fits under `max_loaded_models` and
   * the memory budget; refuse (507 / 503) when even that is not enough.
   */
  private async makeRoom(id: string, needBytes: number): Promise<void> {
    const config = this.deps.config();
    for (;;) {
      const snapshot = this.deps.memory.snapshot(this.modelsBytes());
      const tooMany = config.max_loaded_models > 0 && this.entries.size + this.loadingOthers(id) >= config.max_loaded_models;
      const tooBig = needBytes > snapshot.available_bytes;
      if (!tooMany && !tooBig) return;

      const victim = [...this.entries.entries()]
        .filter(([, entry]) => !entry.pinned)
        .sort(([, a], [, b]) => a.model.lastUsedAt - b.model.lastUsedAt)[0];
      if (!victim) {
        if (tooBig) {
          const budgetLeft = snapshot.budget_bytes - snapshot.models_bytes;
          throw insufficientStorage(
            `Not enough memory to load '${id}': it needs about ${formatBytes(needBytes)}, and ${formatBytes(snapshot.available_bytes)} is available ` +
              `(${formatBytes(snapshot.free_bytes)} free, ${formatBytes(Math.max(0, budgetLeft))} left of the ${config.max_memory_percent}% budget of ${formatBytes(snapshot.total_bytes)}; loaded models cannot be unloaded to make room).`,
            "insufficient_memory",
          );
        }
        throw unavailable(
          `Cannot load '${id}': ${config.max_loaded_models} models are loaded (max_loaded_models) and none can be unloaded.`,
          "max_loaded_models",
          5,
        );
      }
      this.deps.log.info({ model: victim[0], for: id, need_bytes: needBytes }, "evicting least recently used model");
      await this.unload(victim[0], "evicted");
    }
  }

  private loadingOthers(id: string): number {
    return [...this.loading.keys()].filter((other) => other !== id).length;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, entry] of this.entries) {
      if (entry.pinned || entry.keepAliveMs === null) continue;
      const { scheduler, state } = entry.model;
      const idle = scheduler.inFlight === 0 && scheduler.queued === 0;
      if (idle && state !== "unloading" && now - entry.model.lastUsedAt >= entry.keepAliveMs) {
        void this.unload(id, "keep_alive").catch((err: unknown) => this.deps.log.error({ err, model: id }, "keep-alive unload failed"));
      }
    }
    const snapshot = this.deps.memory.snapshot(this.modelsBytes());
    if (snapshot.used_percent > snapshot.max_memory_percent && now - this.lastMemoryWarning > 60_000) {
      this.lastMemoryWarning = now;
      this.deps.log.warn({ used_percent: snapshot.used_percent }, "memory use above max_memory_percent");
      this.deps.events.emit("memory_warning", {
        used_percent: snapshot.used_percent,
        threshold_percent: snapshot.max_memory_percent,
        free_bytes: snapshot.free_bytes,
        total_bytes: snapshot.total_bytes,
      });
    }
  }
}

function sameSettings(a: LoadOptions, b: LoadOptions): boolean {
  return (
    a.path === b.path &&
    a.parallel === b.parallel &&
    a.contextSize === b.contextSize &&
    a.threads === b.threads &&
    a.gpuLayers === b.gpuLayers &&
    a.batchSize === b.batchSize &&
    a.flashAttention === b.flashAttention &&
    a.prefixCache === b.prefixCache &&
    JSON.stringify(a.speculative) === JSON.stringify(b.speculative)
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
