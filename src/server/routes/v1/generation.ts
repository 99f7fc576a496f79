import type { FastifyReply, FastifyRequest } from "fastify";
import type { ServerResponse } from "node:http";
import type { LoadedModel } from "../../../engine/loaded-model.js";
import type { GenerateEvent, GenerateRequest, GenerateResult, Usage } from "../../../engine/types.js";
import type { AnswerCache, CachedPart } from "../../answer-cache.js";
import { toHttpError } from "../../errors.js";
import { clientId, requestPriority, type RequestSummary } from "../../request-context.js";
import { SseWriter } from "../../sse.js";

export interface Surface<Builder> {
  builder(): Builder;
  collect(builder: Builder, events: readonly GenerateEvent[], part: number): void;
  frames(events: readonly GenerateEvent[], part: number): unknown[];
  usageFrame(usage: Usage): unknown;
}

/**
 * Runs one or more engine requests (several prompts of a legacy completion run one after another)
 * and answers either as SSE frames or as one JSON object. Errors before the first frame become a
 * normal HTTP error; after it, an `error` frame, as OpenAI does.
 */
export async function runGeneration<Builder>(options: {
  request: FastifyRequest;
  reply: FastifyReply;
  model: LoadedModel;
  parts: GenerateRequest[];
  stream: boolean;
  includeUsage: boolean;
  signal: AbortSignal;
  surface: Surface<Builder>;
  cache: AnswerCache;
  /** Applied to every batch of events before it is delivered (the reflex layer restores redacted values). */
  transform?: (events: GenerateEvent[]) => GenerateEvent[];
  /** Extra response headers (x-lmx-reflex). */
  headers?: Record<string, string>;
  respond(builder: Builder, usage: Usage): unknown;
}): Promise<void> {
  const { request, reply, model, parts, signal, cache } = options;
  const surface = options.transform ? withTransform(options.surface, options.transform) : options.surface;
  const priority = requestPriority(request);
  const summary: RequestSummary = { model: model.id, stream: options.stream, decodeMs: 0, draft: { accepted: 0, rejected: 0 } };
  request.summary = summary;
  const usage: Usage = { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
  const client = clientId(request);
  const perPart = parts[0]?.n ?? 1;

  const cacheKey = cache.key(model.id, parts);
  const cached = cacheKey ? cache.get(cacheKey) : undefined;
  const recorded: CachedPart[] = [];
  const headers: Record<string, string> = { "x-lmx-model": model.id, ...options.headers };
  if (cacheKey) headers["x-lmx-cache"] = cached ? "hit" : "miss";

  /** One engine request, or its stored answer; `deliver` gets its events in order. */
  const runPart = async (index: number, deliver: (events: GenerateEvent[]) => void) => {
    let result: GenerateResult;
    if (cached) {
      deliver(cached[index].events);
      result = cached[index].result;
    } else {
      const events: GenerateEvent[] = [];
      result = await model.generate(
        parts[index],
        (batch) => {
          if (cacheKey) events.push(...batch);
          deliver(batch);
        },
        { signal, priority, clientId: client },
      );
      if (cacheKey) recorded.push({ events, result });
    }
    usage.promptTokens += result.usage.promptTokens;
    usage.completionTokens += result.usage.completionTokens;
    usage.cachedTokens += result.usage.cachedTokens;
    if (cached) return;
    summary.ttftMs ??= result.timings.firstTokenMs;
    if (result.timings.firstTokenMs !== null) summary.decodeMs! += result.timings.totalMs - result.timings.firstTokenMs;
    if (result.draft) {
      summary.draft!.accepted += result.draft.accepted;
      summary.draft!.rejected += result.draft.rejected;
    }
  };
  const finished = () => {
    // A stored answer cost nothing: metrics count only tokens the engine processed.
    summary.usage = cached ? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 } : usage;
    if (cacheKey && !cached) cache.set(cacheKey, recorded);
  };

  if (!options.stream) {
    const builder = surface.builder();
    for (let index = 0; index < parts.length; index++) {
      await runPart(index, (events) => surface.collect(builder, events, index * perPart));
    }
    finished();
    for (const [name, value] of Object.entries(headers)) reply.header(name, value);
    await reply.send(options.respond(builder, usage));
    return;
  }

  reply.hijack();
  const sse = new SseWriter(reply.raw, { ...headers, "x-request-id": String(request.id) });
  try {
    for (let index = 0; index < parts.length; index++) {
      await runPart(index, (events) => sse.send(surface.frames(events, index * perPart)));
    }
    finished();
    if (options.includeUsage) sse.send([surface.usageFrame(usage)]);
    sse.end();
  } catch (err) {
    summary.usage = usage;
    if (signal.aborted) {
      reply.raw.destroy();
      return;
    }
    const httpError = toHttpError(err);
    request.errorCode = httpError.body.error.code;
    if (httpError.unexpected) request.log.error({ err }, "generation failed");
    if (!sse.headersSent) {
      writeRawError(reply.raw, httpError.status, httpError.body, httpError.headers);
    } else {
      sse.send([httpError.body]);
      sse.end(false);
    }
  }
}

function withTransform<Builder>(surface: Surface<Builder>, transform: (events: GenerateEvent[]) => GenerateEvent[]): Surface<Builder> {
  return {
    ...surface,
    collect: (builder, events, part) => surface.collect(builder, transform([...events]), part),
    frames: (events, part) => surface.frames(transform([...events]), part),
  };
}

export function writeRawError(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
