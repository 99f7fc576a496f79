import type { FastifyInstance } from "fastify";
import { modelNotFound } from "../../errors.js";
import { readGgufSummary } from "../../models/gguf-info.js";
import type { ModelFile } from "../../models/registry.js";
import type { Services } from "../services.js";

/**
 * LM Studio's REST API (`/api/v0`) for its clients: every model on disk with its state, type,
 * architecture, quantization and context lengths, in LM Studio's shape.
 */
export async function lmStudioRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const describe = async (file: ModelFile) => {
    const loaded = services.models.get(file.id);
    const gguf = await readGgufSummary(file.path).catch(() => null);
    const [publisher] = file.id.includes("/") ? file.id.split("/") : ["local"];
    return {
      id: file.id,
      object: "model",
      type: gguf?.type ?? "llm",
      publisher,
      arch: gguf?.architecture ?? "unknown",
      compatibility_type: "gguf",
      quantization: gguf?.quantization ?? "unknown",
      state: loaded ? "loaded" : "not-loaded",
      max_context_length: gguf?.contextLength ?? null,
      ...(loaded ? { loaded_context_length: loaded.info.contextSize } : {}),
    };
  };

  app.get("/api/v0/models", async () => ({
    object: "list",
    data: await Promise.all(services.registry.list().map(describe)),
  }));

  app.get("/api/v0/models/*", async (request) => {
    const id = decodeURIComponent((request.params as { "*": string })["*"]);
    const file = services.registry.find(id);
    if (!file) throw modelNotFound(id);
    return describe(file);
  });
}
