import { unavailable } from "../errors.js";
import type { Logger } from "../telemetry/logger.js";
import { RunnerProcess, type RunnerExit } from "./runner-client.js";
import { SlotScheduler, type AdmitOptions } from "./scheduler.js";
import type { EmbedRequest, EmbedResult, GenerateEvent, GenerateRequest, GenerateResult, LoadOptions, ModelInfo, RunnerStats } from "./types.js";

export type ModelState = "ready" | "restarting" | "quarantined" | "unloading";

export interface LoadedModelSettings {
  hangTimeoutMs: number;
  loadTimeoutMs: number;
  maxCrashes: number;
  crashWindowMs: number;
  maxQueue: number;
  retryAfterSeconds: number;
  /** Requests one client may run at once on this model (0: no limit). */
  clientLimit?: (clientId: string) => number;
}

export interface LoadedModelEvents {
  onStateChange?(model: LoadedModel, state: ModelState): void;
}

/**
 * A model loaded in its own runner process, with its admission queue. It supervises the runner:
 * a crash fails only the requests in flight, the runner is restarted, and a model that crashes
 * `maxCrashes` times within `crashWindowMs` is quarantined (every request then gets 503).
 */
export class LoadedModel {
  private stateValue: ModelState = "ready";
  private readonly crashes: number[] = [];
  private ready: Promise<RunnerProcess>;
  readonly scheduler: SlotScheduler;
  readonly loadedAt = Date.now();
  lastUsedAt = Date.now();

  private constructor(
    readonly options: LoadOptions,
    private runner: RunnerProcess,
    private readonly settings: LoadedModelSettings,
    private readonly log: Logger,
    private readonly events: LoadedModelEvents,
  ) {
    this.ready = Promise.resolve(runner);
    this.scheduler = new SlotScheduler({
      slots: options.parallel,
      maxQueue: settings.maxQueue,
      retryAfterSeconds: settings.retryAfterSeconds,
      clientLimit: settings.clientLimit,
    });
    this.watch(runner);
  }

  static async load(
    options: LoadOptions,
    settings: LoadedModelSettings,
    log: Logger,
    events: LoadedModelEvents = {},
    signal?: AbortSignal,
  ): Promise<LoadedModel> {
    const runner = await RunnerProcess.start({
      load: options,
      log,
      loadTimeoutMs: settings.loadTimeoutMs,
      hangTimeoutMs: settings.hangTimeoutMs,
      signal,
    });
    return new LoadedModel(options, runner, settings, log.child({ model: options.id }), events);
  }

  get id(): string {
    return this.options.id;
  }

  get info(): ModelInfo {
    return this.runner.info;
  }

  get state(): ModelState {
    return this.stateValue;
  }

  get pid(): number | undefined {
    return this.runner.pid;
  }

  async generate(
    request: GenerateRequest,
    onEvents: (events: GenerateEvent[]) => void,
    { signal, priority, clientId }: { signal: AbortSignal; priority?: number; clientId?: string | null },
  ): Promise<GenerateResult> {
    return this.withSlot({ signal, priority, clientId }, (runner) => runner.generate(request, onEvents, signal));
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    this.assertServing();
    this.lastUsedAt = Date.now();
    return (await this.ready).embed(request, signal);
  }

  /** Live counters from the runner (busy sequences, tokens generated). */
  async stats(): Promise<RunnerStats> {
    return (await this.ready).stats();
  }

  async tokenize(text: string, signal: AbortSignal): Promise<number[]> {
    this.assertServing();
    return (await this.ready).tokenize(text, signal);
  }

  /**
   * Stop serving: waiting requests fail at once, running ones get `graceMs` to finish and are then
   * cut off (they fail with 503 model_unloaded).
   */
  async unload(graceMs: number): Promise<void> {
    if (this.stateValue === "unloading") return;
    this.setState("unloading");
    this.scheduler.failAll(unavailable(`The model '${this.id}' is being unloaded.`, "model_unloaded", 1));
    const deadline = Date.now() + graceMs;
    while (this.scheduler.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const runner = await this.ready.catch(() => null);
    await runner?.stop();
  }

  private async withSlot<T>(admit: AdmitOptions, work: (runner: RunnerProcess) => Promise<T>): Promise<T> {
    this.assertServing();
    const release = await this.scheduler.acquire(admit);
    try {
      this.assertServing();
      const runner = await this.ready;
      this.lastUsedAt = Date.now();
      return await work(runner);
    } finally {
      this.lastUsedAt = Date.now();
      release();
    }
  }

  private assertServing(): void {
    if (this.stateValue === "quarantined") {
      throw unavailable(
        `The model '${this.id}' crashed ${this.settings.maxCrashes} times within ${Math.round(this.settings.crashWindowMs / 1000)} s and is quarantined. Unload and load it again to retry.`,
        "model_quarantined",
      );
    }
    if (this.stateValue === "unloading") throw unavailable(`The model '${this.id}' is being unloaded.`, "model_unloaded", 1);
  }

  private watch(runner: RunnerProcess): void {
    runner.onExitOnce((exit) => this.onRunnerExit(exit));
  }

  private onRunnerExit(exit: RunnerExit): void {
    if (exit.expected || this.stateValue === "unloading") return;
    const now = Date.now();
    this.crashes.push(now);
    while (this.crashes.length > 0 && now - this.crashes[0] > this.settings.crashWindowMs) this.crashes.shift();
    if (this.crashes.length >= this.settings.maxCrashes) {
      this.log.error({ crashes: this.crashes.length }, "model quarantined after repeated runner crashes");
      this.setState("quarantined");
      this.scheduler.failAll(
        unavailable(`The model '${this.id}' is quarantined after repeated crashes.`, "model_quarantined"),
      );
      return;
    }
    this.log.warn({ code: exit.code, signal: exit.signal, crashes: this.crashes.length }, "restarting runner");
    this.setState("restarting");
    this.ready = RunnerProcess.start({
      load: this.options,
      log: this.log,
      loadTimeoutMs: this.settings.loadTimeoutMs,
      hangTimeoutMs: this.settings.hangTimeoutMs,
    });
    this.ready.then(
      (next) => {
        if (this.stateValue === "unloading") {
          void next.stop();
          return;
        }
        this.runner = next;
        this.watch(next);
        this.setState("ready");
      },
      (err: unknown) => {
        this.log.error({ err }, "runner restart failed");
        this.onRunnerExit({ code: null, signal: null, expected: false });
      },
    );
    // Requests that wait for the restart see its failure as their own.
    this.ready.catch(() => {});
  }

  private setState(state: ModelState): void {
    this.stateValue = state;
    this.events.onStateChange?.(this, state);
  }
}
