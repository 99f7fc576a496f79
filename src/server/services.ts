import type { LmxConfig } from "../config/schema.js";
import type { DownloadManager } from "../models/hub/index.js";
import type { ModelManager } from "../models/lifecycle.js";
import type { MemoryGuard } from "../models/memory.js";
import type { Preset } from "../models/presets.js";
import type { ModelRegistry } from "../models/registry.js";
import type { Octo } from "../octo/index.js";
import type { ModelRouter } from "../router/router.js";
import type { EventBus } from "../telemetry/events.js";
import type { AnswerCache } from "./answer-cache.js";
import type { ReflexGate } from "./reflex-gate.js";
import type { Logger } from "../telemetry/logger.js";
import type { Metrics } from "../telemetry/metrics.js";

export interface ConfigReload {
  /** Keys whose new values are in effect. */
  changed: string[];
  /** Keys that changed but need a restart (host, port, models_dir…). */
  ignored: string[];
}

/** Everything the HTTP layer needs, built and wired by createLmx(); routes get it, never globals. */
export interface Services {
  config(): LmxConfig;
  log: Logger;
  events: EventBus;
  metrics: Metrics;
  memory: MemoryGuard;
  registry: ModelRegistry;
  models: ModelManager;
  /** `model` of a request → a loaded model (aliases, presets, just-in-time loading). */
  router: ModelRouter;
  presets(): Map<string, Preset>;
  /** Hugging Face downloads (created on first use). */
  downloads(): Promise<DownloadManager>;
  reloadConfig(): Promise<ConfigReload>;
  /** Screening, redaction, blocking and rate limits in front of the models (config `reflex`). */
  reflex: ReflexGate;
  /** Stored answers of deterministic requests (reflex.answer_cache). */
  answerCache: AnswerCache;
  /** The orchestrator. */
  octo: Octo;
  version: string;
  startedAt: number;
}
