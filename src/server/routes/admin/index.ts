import type { FastifyInstance } from "fastify";
import { notFound } from "../../../errors.js";
import type { Services } from "../../services.js";
import { SseWriter } from "../../sse.js";
import { adminBenchmarkRoutes } from "./benchmark.js";
import { adminModelRoutes, loadedModelStatus } from "./models.js";

/** The LMX admin surface: status, memory, models, downloads, presets, config reload, events. */
export async function adminRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await adminModelRoutes(app, services);
  await adminBenchmarkRoutes(app, services);

  app.get("/admin/health", async () => {
    const models = services.models.list();
    return {
      status: "ok",
      version: services.version,
      uptime_s: Math.round((Date.now() - services.startedAt) / 1000),
      models_loaded: models.length,
      models_ready: models.filter((m) => m.state === "ready").length,
      overloaded: services.memory.overloaded(),
    };
  });

  app.get("/admin/status", async () => {
    const config = services.config();
    const models = await Promise.all(services.models.list().map((model) => loadedModelStatus(services, model)));
    return {
      version: services.version,
      started_at: new Date(services.startedAt).toISOString(),
      uptime_s: Math.round((Date.now() - services.startedAt) / 1000),
      pid: process.pid,
      listening: { host: config.host, port: config.port },
      models_dir: config.models_dir,
      models,
      loading: services.models.loadingCount,
      in_flight: models.reduce((sum, m) => sum + m.in_flight, 0),
      queued: models.reduce((sum, m) => sum + m.queued, 0),
      memory: services.memory.snapshot(services.models.modelsBytes()),
      limits: {
        jit_loading: config.jit_loading,
        keep_alive: config.keep_alive,
        max_loaded_models: config.max_loaded_models,
        max_memory_percent: config.max_memory_percent,
        load_shedding_percent: config.load_shedding_percent,
        queue_max_size: config.queue.max_size,
        body_limit: config.body_limit,
      },
    };
  });

  app.get("/admin/memory", async () => {
    const models = await Promise.all(
      services.models.list().map(async (model) => {
        const stats = await model.stats().catch(() => null);
        return {
          id: model.id,
          estimate_bytes: services.models.describe(model.id)?.memory_bytes ?? null,
          runner_rss_bytes: stats?.rssBytes ?? null,
          pid: model.pid ?? null,
        };
      }),
    );
    return { ...services.memory.snapshot(services.models.modelsBytes()), api_rss_bytes: process.memoryUsage().rss, models };
  });

  app.post("/admin/models/download", async (request, reply) => {
    const downloads = await services.downloads();
    const { parseDownloadRequest } = await import("../../../models/hub/index.js");
    const job = downloads.start(parseDownloadRequest(request.body));
    return reply.status(202).send(job);
  });

  app.get("/admin/models/downloads", async () => ({ object: "list", data: (await services.downloads()).list() }));

  app.get("/admin/models/downloads/:id", async (request) => {
    const { id } = request.params as { id: string };
    const job = (await services.downloads()).get(id);
    if (!job) throw notFound(`No download with id '${id}'.`, "download_not_found", "id");
    return job;
  });

  app.delete("/admin/models/downloads/:id", async (request) => {
    const { id } = request.params as { id: string };
    const query = request.query as { discard?: string };
    const job = await (await services.downloads()).cancel(id, { discardPartial: query.discard === "true" });
    if (!job) throw notFound(`No download with id '${id}'.`, "download_not_found", "id");
    return job;
  });

  app.get("/admin/presets", async () => ({
    object: "list",
    presets_dir: services.config().presets_dir,
    data: [...services.presets().values()],
    aliases: services.router.describeAliases(),
  }));

  app.post("/admin/config/reload", async () => services.reloadConfig());

  app.get("/admin/events", async (request, reply) => {
    const query = request.query as { heartbeat_ms?: string; types?: string };
    const heartbeatMs = Math.max(100, Number(query.heartbeat_ms) || 15_000);
    const types = query.types ? new Set(query.types.split(",")) : null;
    reply.hijack();
    const sse = new SseWriter(reply.raw);
    let sequence = 0;
    sse.comment("lmx admin events");
    const unsubscribe = services.events.subscribe((event) => {
      if (types && !types.has(event.type)) return;
      sse.event(event.type, { ...event.data, time: event.time }, String(++sequence));
    });
    const heartbeat = setInterval(() => {
      if (!types || types.has("heartbeat")) {
        sse.event("heartbeat", { time: new Date().toISOString(), uptime_s: Math.round((Date.now() - services.startedAt) / 1000) }, String(++sequence));
      }
    }, heartbeatMs);
    reply.raw.on("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
}
