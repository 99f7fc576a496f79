import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { randomUUID } from "node:crypto";
import { toHttpError } from "./errors.js";
import { authorize } from "./auth.js";
import { applyRateLimit } from "./rate-limits.js";
import { adminRoutes } from "./routes/admin/index.js";
import { healthRoutes } from "./routes/health.js";
import { lmStudioRoutes } from "./routes/lmstudio.js";
import { metricsRoutes } from "./routes/metrics.js";
import { octoRoutes } from "./routes/octo/index.js";
import { v1Routes } from "./routes/v1/index.js";
import { v1BodyParsers } from "./routes/v1/schemas.js";
import { registerChatWebSocket } from "./routes/v1/websocket.js";
import type { Services } from "./services.js";

/** Builds the HTTP server from a services object. Nothing here is global: tests build several. */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const config = services.config();
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // One access-log line per request, written in onResponse below with what we know of it.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.body_limit,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    // Generations can take minutes; idle sockets are still reaped by Node's own timeouts.
    requestTimeout: 0,
    return503OnClosing: true,
  });

  app.decorateRequest("summary", null);
  app.decorateRequest("errorCode", null);

  // Everything a request goes through before its body is read: its id echoed, its key checked, its rate
  // limit taken. One hook, synchronous unless a rate limit must be asked (Redis): every request passes
  // here, and on an idle machine each extra step on this path shows in the time to first token.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    const query = request.url.indexOf("?");
    const path = query === -1 ? request.url : request.url.slice(0, query);
    let limiting: Promise<void> | undefined;
    try {
      authorize(request, path, services.config());
      limiting = applyRateLimit(request, reply, path, services);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (limiting) limiting.then(() => done(), done);
    else done();
  });

  // One access-log line, one metrics record and, for generations, one request_completed event per request.
  app.addHook("onResponse", async (request, reply) => {
    const summary = request.summary;
    const route = request.routeOptions.url ?? "unknown";
    const status = reply.raw.statusCode;
    const durationMs = reply.elapsedTime;
    const client = typeof request.headers["x-client-id"] === "string" ? request.headers["x-client-id"].slice(0, 64) : null;
    const usage = summary?.usage;
    const line: Record<string, unknown> = {
      req_id: request.id,
      method: request.method,
      route,
      status,
      duration_ms: Math.round(durationMs * 100) / 100,
    };
    if (summary?.model) line.model = summary.model;
    if (client) line.client_id = client;
    if (summary?.stream !== undefined) line.stream = summary.stream;
    if (usage) {
      line.prompt_tokens = usage.promptTokens;
      line.completion_tokens = usage.completionTokens;
      line.cached_tokens = usage.cachedTokens;
    }
    if (summary?.ttftMs != null) line.ttft_ms = Math.round(summary.ttftMs * 100) / 100;
    if (request.errorCode) line.error_code = request.errorCode;
    if (services.config().log_prompts && request.body !== undefined) line.body = request.body;
    services.log.info(line, "request");

    if (route === "/metrics" || route === "unknown") return;
    services.metrics.record({
      route,
      model: summary?.model ?? null,
      status,
      client,
      errorCode: request.errorCode,
      durationMs,
      promptTokens: usage?.promptTokens ?? 0,
      completionTokens: usage?.completionTokens ?? 0,
      cachedTokens: usage?.cachedTokens ?? 0,
      ttftMs: summary?.ttftMs ?? null,
      decodeMs: summary?.decodeMs ?? null,
      draftAccepted: summary?.draft?.accepted ?? 0,
      draftRejected: summary?.draft?.rejected ?? 0,
    });
    if (summary?.model) {
      services.events.emit("request_completed", {
        request_id: String(request.id),
        route,
        model: summary.model,
        status,
        duration_ms: Math.round(durationMs * 100) / 100,
        prompt_tokens: usage?.promptTokens ?? 0,
        completion_tokens: usage?.completionTokens ?? 0,
        cached_tokens: usage?.cachedTokens ?? 0,
        ttft_ms: summary.ttftMs ?? null,
        client_id: client,
      });
    }
  });

  app.setErrorHandler(async (error, request, reply) => {
    const httpError = toHttpError(error);
    request.errorCode = httpError.body.error.code;
    if (httpError.unexpected) request.log.error({ err: error, req_id: request.id }, "request failed");
    else request.log.debug({ err: { message: httpError.body.error.message, code: httpError.body.error.code }, req_id: request.id }, "request refused");
    for (const [name, value] of Object.entries(httpError.headers)) reply.header(name, value);
    return reply.status(httpError.status).send(httpError.body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    return reply.status(404).send({
      error: {
        message: `Unknown route: ${request.method} ${request.url.split("?")[0]}`,
        type: "invalid_request_error",
        param: null,
        code: "unknown_url",
      },
    });
  });

  await healthRoutes(app, services);
  const v1Bodies = v1BodyParsers();
  await v1Routes(app, services, v1Bodies);
  registerChatWebSocket(app, services, v1Bodies.chat);
  await adminRoutes(app, services);
  await lmStudioRoutes(app, services);
  await octoRoutes(app, services);
  await metricsRoutes(app, services);
  return app;
}
