import type { FastifyInstance } from "fastify";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import { invalidRequest } from "../../../errors.js";
import type { GenerateEvent, GenerateResult } from "../../../engine/types.js";
import { matches } from "../../auth.js";
import { toHttpError } from "../../errors.js";
import type { Services } from "../../services.js";
import { usageBody } from "./format.js";
import type { ChatCompletionBody } from "./schemas.js";
import { restoringEvents } from "../../reflex-gate.js";
import { chatTexts } from "./texts.js";
import { toChatRequest } from "./translate.js";

/**
 * WebSocket chat: `GET /v1/chat/stream`. Several requests share one socket:
 *   client → {type: "chat.request", request_id, ...chat completion fields} | {type: "chat.cancel", request_id}
 *   server → chat.token {request_id, choice, content} · chat.tool_call {request_id, choice, index, id?, name?, arguments}
 *            chat.done {request_id, model, choices: [{index, finish_reason}], usage} · chat.error {request_id, error}
 * Sockets with nothing running and nothing received for `websocket.idle_timeout_ms` are closed.
 */
export function registerChatWebSocket(app: FastifyInstance, services: Services, parseChat: (body: unknown) => ChatCompletionBody): void {
  const path = "/v1/chat/stream";
  // The ws library is loaded with the first socket: most servers never see one, and start faster.
  let wss: Promise<WebSocketServer> | null = null;
  const socketServer = () =>
    (wss ??= import("ws").then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, maxPayload: services.config().body_limit })));

  app.server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== path) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    const key = services.config().api_key;
    if (key) {
      const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? "")?.[1];
      const given = bearer ?? (request.headers["x-api-key"] as string | undefined) ?? url.searchParams.get("api_key") ?? undefined;
      if (!matches(given, key)) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
    }
    socketServer().then(
      (server) => server.handleUpgrade(request, socket, head, (ws) => serveSocket(ws, services, parseChat, url.searchParams.get("client_id"))),
      () => socket.destroy(),
    );
  });

  app.addHook("onClose", async () => {
    if (!wss) return;
    const server = await wss;
    for (const client of server.clients) client.close(1001, "server shutting down");
    server.close();
  });
}

function serveSocket(ws: WebSocket, services: Services, parseChat: (body: unknown) => ChatCompletionBody, clientId: string | null): void {
  const running = new Map<string, AbortController>();
  const idleMs = services.config().websocket.idle_timeout_ms;
  let idleTimer: NodeJS.Timeout | null = null;
  const send = (message: Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const armIdle = () => {
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = running.size === 0 ? setTimeout(() => ws.close(1000, "idle"), idleMs) : null;
  };
  const ping = setInterval(() => ws.ping(), 30_000).unref();
  armIdle();

  ws.on("message", (data: RawData) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(data.toString()) as Record<string, unknown>;
      if (typeof message !== "object" || message === null || Array.isArray(message)) throw new Error("not an object");
    } catch {
      send({ type: "chat.error", request_id: null, error: toHttpError(invalidRequest("Messages must be JSON objects.", null, "invalid_json")).body.error });
      return;
    }
    const requestId = typeof message.request_id === "string" && message.request_id.length > 0 ? message.request_id : null;
    if (message.type === "chat.cancel") {
      if (requestId) running.get(requestId)?.abort();
      return;
    }
    if (message.type !== "chat.request") {
      send({ type: "chat.error", request_id: requestId, error: toHttpError(invalidRequest("Unknown message type: use chat.request or chat.cancel.", "type")).body.error });
      return;
    }
    if (!requestId) {
      send({ type: "chat.error", request_id: null, error: toHttpError(invalidRequest("chat.request needs a request_id string.", "request_id")).body.error });
      return;
    }
    if (running.has(requestId)) {
      send({ type: "chat.error", request_id: requestId, error: toHttpError(invalidRequest(`request_id '${requestId}' is already running on this socket.`, "request_id")).body.error });
      return;
    }
    const controller = new AbortController();
    running.set(requestId, controller);
    armIdle();
    void runRequest(services, parseChat, message, requestId, clientId, controller.signal, send).finally(() => {
      running.delete(requestId);
      armIdle();
    });
  });

  ws.on("close", () => {
    clearInterval(ping);
    if (idleTimer) clearTimeout(idleTimer);
    for (const controller of running.values()) controller.abort();
  });
  ws.on("error", () => ws.terminate());
}

async function runRequest(
  services: Services,
  parseChat: (body: unknown) => ChatCompletionBody,
  message: Record<string, unknown>,
  requestId: string,
  clientId: string | null,
  signal: AbortSignal,
  send: (message: Record<string, unknown>) => void,
): Promise<void> {
  const started = performance.now();
  let modelId: string | null = null;
  let result: GenerateResult | null = null;
  let status = 200;
  let errorCode: string | null = null;
  try {
    const { type: _type, request_id: _id, ...fields } = message;
    const body = parseChat(fields);
    const verdict = services.reflex.inspect(chatTexts(body));
    if (verdict) services.metrics.recordReflex(verdict.findings);
    const restore = verdict?.vault ? restoringEvents(verdict.vault) : (events: GenerateEvent[]) => events;
    const { model, preset } = await services.router.resolve(body.model, { keepAlive: body.keep_alive, signal });
    modelId = model.id;
    const finishes: Array<{ index: number; finish_reason: string }> = [];
    const onEvents = (batch: GenerateEvent[]) => {
      for (const event of restore(batch)) {
        switch (event.type) {
          case "text":
            send({ type: "chat.token", request_id: requestId, choice: event.choice, content: event.text, ...(event.logprobs ? { logprobs: event.logprobs } : {}) });
            break;
          case "tool_call_start":
            send({ type: "chat.tool_call", request_id: requestId, choice: event.choice, index: event.index, id: event.id, name: event.name, arguments: "" });
            break;
          case "tool_call_args":
            send({ type: "chat.tool_call", request_id: requestId, choice: event.choice, index: event.index, arguments: event.text });
            break;
          case "finish":
            finishes.push({ index: event.choice, finish_reason: event.reason });
            break;
        }
      }
    };
    result = await model.generate(toChatRequest(body, services.config(), preset), onEvents, { signal, clientId });
    send({ type: "chat.done", request_id: requestId, model: model.id, choices: finishes, usage: usageBody(result.usage) });
  } catch (err) {
    const httpError = toHttpError(signal.aborted ? Object.assign(new Error("cancelled"), { name: "AbortError" }) : err);
    status = httpError.status;
    errorCode = httpError.body.error.code;
    if (httpError.unexpected) services.log.error({ err, request_id: requestId }, "websocket request failed");
    send({ type: "chat.error", request_id: requestId, error: httpError.body.error });
  } finally {
    if (modelId) services.models.requestFinished(modelId);
    const durationMs = performance.now() - started;
    services.metrics.record({
      route: "/v1/chat/stream",
      model: modelId,
      status,
      client: clientId,
      errorCode,
      durationMs,
      promptTokens: result?.usage.promptTokens ?? 0,
      completionTokens: result?.usage.completionTokens ?? 0,
      cachedTokens: result?.usage.cachedTokens ?? 0,
      ttftMs: result?.timings.firstTokenMs ?? null,
      decodeMs: result && result.timings.firstTokenMs !== null ? result.timings.totalMs - result.timings.firstTokenMs : null,
      draftAccepted: result?.draft?.accepted ?? 0,
      draftRejected: result?.draft?.rejected ?? 0,
    });
    if (modelId) {
      services.events.emit("request_completed", {
        request_id: requestId,
        route: "/v1/chat/stream",
        model: modelId,
        status,
        duration_ms: Math.round(durationMs * 100) / 100,
        prompt_tokens: result?.usage.promptTokens ?? 0,
        completion_tokens: result?.usage.completionTokens ?? 0,
        cached_tokens: result?.usage.cachedTokens ?? 0,
        ttft_ms: result?.timings.firstTokenMs ?? null,
        client_id: clientId,
      });
    }
  }
}
