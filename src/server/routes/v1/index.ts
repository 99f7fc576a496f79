import type { FastifyInstance, FastifyRequest } from "fastify";
import { invalidRequest, modelNotFound, unavailable } from "../../../errors.js";
import type { Services } from "../../services.js";
import { clientGone } from "../../request-context.js";
import {
  ChatChunkWriter,
  ChatCompletionBuilder,
  CompletionBuilder,
  CompletionChunkWriter,
  responseId,
} from "./format.js";
import { runGeneration } from "./generation.js";
import { restoringEvents } from "../../reflex-gate.js";
import type { V1BodyParsers } from "./schemas.js";
import { chatTexts, completionTexts, type TextSlot } from "./texts.js";
import { toChatRequest, toCompletionRequests } from "./translate.js";

/** The OpenAI-compatible surface: /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings. */
export async function v1Routes(app: FastifyInstance, services: Services, parse: V1BodyParsers): Promise<void> {
  // The parsed body may be the one received, and redaction (reflex) rewrites its texts in place: the
  // debug log of prompts (log_prompts) shows them as the client sent them.
  const received = (request: FastifyRequest): unknown => (services.config().log_prompts ? structuredClone(request.body) : request.body);
  /** The model for a request: aliases and presets resolved, loaded just in time; refused when memory is short. */
  const modelFor = async (name: string, keepAlive: string | number | undefined, signal: AbortSignal) => {
    if (services.memory.overloaded()) {
      throw unavailable(`The server is overloaded: memory use is above ${services.config().load_shedding_percent}%. Retry shortly.`, "overloaded", 5);
    }
    return services.router.resolve(name, { keepAlive, signal });
  };

  // After each request: a keep_alive of 0 unloads the model once it is idle.
  app.addHook("onResponse", async (request) => {
    if (request.summary?.model) services.models.requestFinished(request.summary.model);
  });

  const modelObject = (id: string, created: number) => ({ id, object: "model" as const, created: Math.floor(created / 1000), owned_by: "lmx" });

  app.get("/v1/models", async () => ({
    object: "list",
    data: services.models.list().map((model) => modelObject(model.id, model.loadedAt)),
  }));

  // Ids may contain slashes (org/repo/file), so the id is the rest of the path.
  app.get("/v1/models/*", async (request) => {
    const id = decodeURIComponent((request.params as { "*": string })["*"]);
    const model = services.models.get(id);
    if (!model) throw modelNotFound(id);
    return modelObject(model.id, model.loadedAt);
  });

  /** Screening (and, per policy, redaction or blocking) before the model sees anything. */
  const screen = (slots: TextSlot[]) => {
    const verdict = services.reflex.inspect(slots);
    if (verdict) services.metrics.recordReflex(verdict.findings);
    const headers: Record<string, string> = verdict ? { "x-lmx-reflex": verdict.header } : {};
    return {
      headers,
      transform: verdict?.vault ? restoringEvents(verdict.vault) : undefined,
    };
  };

  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parse.chat(received(request));
    const reflex = screen(chatTexts(body));
    const { signal } = clientGone(request, reply);
    const { model, preset } = await modelFor(body.model, body.keep_alive, signal);
    const engineRequest = toChatRequest(body, services.config(), preset);
    const id = responseId("chatcmpl");
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = body.stream_options?.include_usage ?? false;
    const chunks = new ChatChunkWriter(id, model.id, created, includeUsage);
    await runGeneration({
      request,
      reply,
      model,
      parts: [engineRequest],
      stream: body.stream ?? false,
      includeUsage,
      signal,
      cache: services.answerCache,
      ...reflex,
      surface: {
        builder: () => new ChatCompletionBuilder(engineRequest.n, engineRequest.logprobs !== null),
        collect: (builder, events) => builder.add(events),
        frames: (events) => chunks.chunks(events),
        usageFrame: (usage) => chunks.usageChunk(usage),
      },
      respond: (builder, usage) => builder.build(id, model.id, created, usage),
    });
  });

  app.post("/v1/completions", async (request, reply) => {
    const body = parse.completion(received(request));
    const reflex = screen(completionTexts(body));
    const { signal } = clientGone(request, reply);
    const { model, preset } = await modelFor(body.model, body.keep_alive, signal);
    const parts = toCompletionRequests(body, services.config(), preset);
    const id = responseId("cmpl");
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = body.stream_options?.include_usage ?? false;
    const chunks = new CompletionChunkWriter(id, model.id, created, includeUsage);
    await runGeneration({
      request,
      reply,
      model,
      parts,
      stream: body.stream ?? false,
      includeUsage,
      signal,
      cache: services.answerCache,
      ...reflex,
      surface: {
        builder: () => new CompletionBuilder(body.logprobs != null),
        collect: (builder, events, offset) => builder.add(events, offset),
        frames: (events, offset) => chunks.chunks(events, offset),
        usageFrame: (usage) => chunks.usageChunk(usage),
      },
      respond: (builder, usage) => builder.build(id, model.id, created, usage),
    });
  });

  app.post("/v1/embeddings", async (request, reply) => {
    const body = parse.embedding(received(request));
    const { signal } = clientGone(request, reply);
    const { model } = await modelFor(body.model, body.keep_alive, signal);
    if (body.dimensions !== undefined && body.dimensions !== model.info.embeddingSize) {
      throw invalidRequest(
        `The model '${model.id}' produces ${model.info.embeddingSize}-dimensional embeddings and does not support 'dimensions' = ${body.dimensions}.`,
        "dimensions",
        "unsupported_dimensions",
      );
    }
    const inputs: Array<string | number[]> =
      typeof body.input === "string"
        ? [body.input]
        : typeof body.input[0] === "number"
          ? [body.input as number[]]
          : (body.input as Array<string | number[]>);
    const result = await model.embed({ inputs }, signal);
    request.summary = { model: model.id, usage: { promptTokens: result.promptTokens, completionTokens: 0, cachedTokens: 0 } };
    const base64 = body.encoding_format === "base64";
    reply.header("x-lmx-model", model.id);
    return {
      object: "list",
      data: result.embeddings.map((embedding, index) => ({
        object: "embedding",
        index,
        embedding: base64 ? Buffer.from(new Float32Array(embedding).buffer).toString("base64") : embedding,
      })),
      model: model.id,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  });
}
