import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { isKeepAlive } from "../../../config/duration.js";
import { speculativeSchema } from "../../../config/schema.js";
import { conflict, modelNotFound, notFound } from "../../../errors.js";
import type { LoadedModel } from "../../../engine/loaded-model.js";
import type { SpeculativeOptions } from "../../../engine/types.js";
import { describeModelFile } from "../../../models/model-file-info.js";
import { removeModelFiles } from "../../../models/remove.js";
import { parseBody } from "../../request-context.js";
import type { Services } from "../../services.js";

const loadSchema = z.object({
  model: z.string().min(1),
  parallel: z.number().int().min(1).max(256).optional(),
  context_size: z.number().int().min(16).optional(),
  threads: z.number().int().min(1).max(1024).optional(),
  gpu_layers: z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0)]).optional(),
  prefix_cache: z.boolean().optional(),
  speculative: speculativeSchema.nullable().optional(),
  keep_alive: z
    .union([z.string(), z.number()])
    .refine(isKeepAlive, "expected a duration such as 30s, 5m, 1h, a number of seconds, 0, or -1")
    .optional(),
});

const unloadSchema = z.object({ model: z.string().min(1) });

function speculativeStatus(spec: SpeculativeOptions | null) {
  if (!spec) return null;
  return spec.kind === "draft"
    ? { draft_model: spec.draftId, min_draft_tokens: spec.minTokens, max_draft_tokens: spec.maxTokens, min_confidence: spec.minConfidence }
    : { prompt_lookup: true, max_draft_tokens: spec.maxTokens };
}

/** A loaded model as the admin API shows it. */
export async function loadedModelStatus(services: Services, model: LoadedModel) {
  const hold = services.models.describe(model.id);
  return {
    id: model.id,
    state: model.state,
    pid: model.pid ?? null,
    path: model.options.path,
    architecture: model.info.architecture,
    parallel: model.info.parallel,
    context_size: model.info.contextSize,
    threads: model.info.threads,
    gpu: model.info.gpu,
    gpu_layers: model.info.gpuLayers,
    chat_template: model.info.chatTemplate,
    prefix_cache: model.options.prefixCache,
    speculative: speculativeStatus(model.options.speculative),
    size_bytes: model.info.sizeBytes,
    memory_bytes: hold?.memory_bytes ?? null,
    in_flight: model.scheduler.inFlight,
    queued: model.scheduler.queued,
    pinned: hold?.pinned ?? false,
    keep_alive_ms: hold?.keep_alive_ms ?? null,
    expires_at: hold?.expires_at ?? null,
    loaded_at: new Date(model.loadedAt).toISOString(),
    last_used_at: new Date(model.lastUsedAt).toISOString(),
  };
}

export async function adminModelRoutes(app: FastifyInstance, services: Services): Promise<void> {
  app.get("/admin/models", async () => {
    const files = services.registry.list();
    const onDisk = await Promise.all(files.map(async (file) => (await describeModelFile(file, services.models.get(file.id))).row));
    const loaded = await Promise.all(services.models.list().map((model) => loadedModelStatus(services, model)));
    return { object: "list", models_dir: services.config().models_dir, loaded, data: onDisk };
  });

  app.get("/admin/models/*", async (request) => {
    const id = decodeURIComponent((request.params as { "*": string })["*"]);
    const file = services.registry.find(id);
    if (!file) throw modelNotFound(id);
    const loaded = services.models.get(file.id);
    const { row, metadata } = await describeModelFile(file, loaded);
    return { ...row, metadata, status: loaded ? await loadedModelStatus(services, loaded) : null };
  });

  app.post("/admin/models/load", async (request) => {
    const body = parseBody(loadSchema, request.body);
    const model = await services.models.load(body.model, {
      overrides: {
        parallel: body.parallel,
        context_size: body.context_size,
        threads: body.threads,
        gpu_layers: body.gpu_layers,
        prefix_cache: body.prefix_cache,
        speculative: body.speculative,
      },
      keepAlive: body.keep_alive,
      // Loaded on purpose, as with `lms load`: it stays until unloaded (or evicted), unless told otherwise.
      defaultKeepAlive: -1,
    });
    return loadedModelStatus(services, model);
  });

  app.post("/admin/models/unload", async (request) => {
    const body = parseBody(unloadSchema, request.body);
    const model = services.models.get(body.model);
    if (!model) throw notFound(`The model '${body.model}' is not loaded.`, "model_not_loaded", "model");
    await services.models.unload(model.id, "request");
    return { id: model.id, unloaded: true };
  });

  app.delete("/admin/models/*", async (request) => {
    const id = decodeURIComponent((request.params as { "*": string })["*"]);
    const file = services.registry.find(id);
    if (!file) throw modelNotFound(id);
    if (services.models.get(file.id)) throw conflict(`The model '${file.id}' is loaded; unload it before deleting it.`, "model_loaded");
    await removeModelFiles(services.config().models_dir, file.files);
    services.events.emit("model_unloaded", { model: file.id, reason: "deleted" });
    return { id: file.id, deleted: true, files: file.files };
  });
}
