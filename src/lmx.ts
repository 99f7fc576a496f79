import type { FastifyInstance } from "fastify";
import { ConfigError, loadConfig, type LoadConfigOptions } from "./config/load.js";
import { invalidRequest } from "./errors.js";
import type { LmxConfig } from "./config/schema.js";
import { ModelManager } from "./models/lifecycle.js";
import { MemoryGuard } from "./models/memory.js";
import { loadPresets, type Preset } from "./models/presets.js";
import { ModelRegistry } from "./models/registry.js";
import type { DownloadManager } from "./models/hub/index.js";
import { createOcto } from "./octo/index.js";
import { ModelRouter } from "./router/router.js";
import { AnswerCache } from "./server/answer-cache.js";
import { buildApp } from "./server/app.js";
import { ReflexGate } from "./server/reflex-gate.js";
import type { ConfigReload, Services } from "./server/services.js";
import { EventBus } from "./telemetry/events.js";
import { createLogger, type Logger } from "./telemetry/logger.js";
import { Metrics } from "./telemetry/metrics.js";
import { packageVersion } from "./version.js";

export interface LmxOptions {
  /** Extra models to load (and pin) at start (the --model flag), on top of config.auto_load. */
  models?: string[];
  /** How the config was loaded, so POST /admin/config/reload can load it again the same way. */
  configSource?: LoadConfigOptions;
  /** Log destination (tests); stdout by default. */
  logDestination?: NodeJS.WritableStream;
  logger?: Logger;
}

export interface Lmx {
  services: Services;
  app: FastifyInstance;
  /** Listen, then load the start-up models in the background (/readyz turns 200 when one is ready). */
  start(): Promise<{ url: string; modelsLoaded: Promise<void> }>;
  stop(): Promise<void>;
}

/** Settings that take effect only at start; a reload reports them as ignored. */
const restartOnly = ["host", "port", "models_dir", "gpu", "body_limit", "log_file", "runner"] as const;

/** Builds one LMX instance: every service created here and passed down; no globals. */
export async function createLmx(initialConfig: LmxConfig, options: LmxOptions = {}): Promise<Lmx> {
  let config = initialConfig;
  const log = options.logger ?? createLogger({ level: config.log_level, destination: options.logDestination, file: config.log_file });
  const events = new EventBus();
  const registry = new ModelRegistry(config.models_dir);
  const memory = new MemoryGuard(() => ({ maxMemoryPercent: config.max_memory_percent, loadSheddingPercent: config.load_shedding_percent }));
  const models = new ModelManager({ config: () => config, registry, memory, events, log });

  let presets = new Map<string, Preset>();
  const readPresets = () => {
    const result = loadPresets(config.presets, config.presets_dir);
    for (const error of result.errors) log.warn({ error }, "preset ignored");
    presets = result.presets;
  };
  readPresets();
  const router = new ModelRouter({ models, registry, aliases: () => config.aliases, presets: () => presets });

  // Downloads pull in the Hub client; it is created on first use, not at start-up.
  let downloads: Promise<DownloadManager> | null = null;
  const getDownloads = () =>
    (downloads ??= import("./models/hub/index.js").then(({ createDownloadManager }) => {
      const manager = createDownloadManager({
        modelsDir: config.models_dir,
        ...(config.hub.endpoint ? { endpoint: config.hub.endpoint } : {}),
        ...(config.hub.token ? { token: config.hub.token } : {}),
      });
      for (const name of ["download_progress", "download_completed", "download_failed", "download_cancelled"] as const) {
        manager.on(name, (job) => events.emit(name, job as unknown as Record<string, unknown>));
      }
      return manager;
    }));

  const reloadConfig = async (): Promise<ConfigReload> => {
    let next: LmxConfig;
    try {
      next = loadConfig({ ...options.configSource });
    } catch (err) {
      if (err instanceof ConfigError) throw invalidRequest(err.message, null, "invalid_config");
      throw err;
    }
    const changed = Object.keys(next).filter((key) => JSON.stringify((next as Record<string, unknown>)[key]) !== JSON.stringify((config as Record<string, unknown>)[key]));
    const ignored = changed.filter((key) => (restartOnly as readonly string[]).includes(key));
    const applied = { ...next } as LmxConfig;
    for (const key of restartOnly) (applied as Record<string, unknown>)[key] = config[key];
    config = applied;
    log.level = config.log_level;
    readPresets();
    const result = { changed: changed.filter((key) => !ignored.includes(key)), ignored };
    log.info(result, "configuration reloaded");
    events.emit("config_reloaded", result);
    return result;
  };

  const reflex = new ReflexGate(() => config.reflex, log.child({ component: "reflex" }));
  const octo = await createOcto({
    config: () => config.octo,
    router,
    models,
    events,
    screener: reflex.screener(),
    log: log.child({ component: "octo" }),
  });

  const metrics = new Metrics({
    models: () =>
      models.list().map((model) => ({
        id: model.id,
        inFlight: model.scheduler.inFlight,
        queued: model.scheduler.queued,
        memoryBytes: models.describe(model.id)?.memory_bytes ?? 0,
        state: model.state,
      })),
    memory: () => {
      const snapshot = memory.snapshot(0);
      return { totalBytes: snapshot.total_bytes, freeBytes: snapshot.free_bytes };
    },
  });

  const services: Services = {
    config: () => config,
    log,
    events,
    metrics,
    memory,
    registry,
    models,
    router,
    presets: () => presets,
    downloads: getDownloads,
    reloadConfig,
    reflex,
    answerCache: new AnswerCache(() => config.reflex.answer_cache),
    octo,
    version: packageVersion(),
    startedAt: Date.now(),
  };
  const app = await buildApp(services);

  return {
    services,
    app,
    async start() {
      const url = await app.listen({ host: config.host, port: config.port });
      log.info({ url, models_dir: config.models_dir, version: services.version }, "LMX listening");
      warnIfExposed(config, log);
      const toLoad = [...new Set([...config.auto_load, ...(options.models ?? [])])];
      const modelsLoaded = Promise.allSettled(toLoad.map((model) => models.load(model, { pinned: true }))).then((results) => {
        for (const [index, result] of results.entries()) {
          if (result.status === "rejected") log.error({ model: toLoad[index], err: result.reason }, "start-up model failed to load");
        }
      });
      return { url, modelsLoaded };
    },
    async stop() {
      await app.close();
      await octo.close();
      await reflex.close();
      await models.close();
      if (downloads) await (await downloads).close();
      log.flush?.();
    },
  };
}

function warnIfExposed(config: LmxConfig, log: Logger): void {
  const loopback = ["127.0.0.1", "::1", "localhost"].includes(config.host) || config.host.startsWith("127.");
  if (loopback) return;
  if (!config.api_key) {
    log.warn({ host: config.host }, "SECURITY: listening beyond loopback with no api_key: anyone who can reach this address can use the models");
  }
  if (!config.admin_key) {
    log.warn({ host: config.host }, "SECURITY: listening beyond loopback with no admin_key: anyone who can reach this address can load, delete and download models");
  }
}
