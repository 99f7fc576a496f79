import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { LmxEvent } from "../../src/telemetry/events.js";
import { json, metricValue, startTestServer, type TestServer } from "../support/server.js";

const model = "stories260K";

describe("aliases, priorities and per-client limits", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      models: ["stories260K", "llama-2-tiny-random"],
      load: ["stories260K"],
      config: {
        aliases: { code: ["not-on-disk", "llama-2-tiny-random", "stories260K"], chat: ["llama-2-tiny-random", "stories260K"] },
        clients: { max_concurrent: 1, overrides: { vip: 2 } },
        model_defaults: { parallel: 2, context_size: 2048 },
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("resolves aliases to the first loaded model, else loads the first on disk; auto picks any ready model", async () => {
    // `chat`: llama-2-tiny-random is not loaded but stories260K is, so the loaded one wins.
    const chat = await server.post("/v1/completions", { model: "chat", prompt: "x", max_tokens: 2 });
    expect(chat.headers.get("x-lmx-model")).toBe("stories260K");
    expect((await json(chat)).model).toBe("stories260K");
    const auto = await server.post("/v1/completions", { model: "auto", prompt: "x", max_tokens: 2 });
    expect(auto.headers.get("x-lmx-model")).toBe("stories260K");

    // With nothing of the list loaded but on disk, the first loadable is loaded just in time.
    await server.post("/admin/models/unload", { model: "stories260K" });
    const code = await server.post("/v1/completions", { model: "code", prompt: "x", max_tokens: 2 });
    expect(code.status).toBe(200);
    expect(code.headers.get("x-lmx-model")).toBe("llama-2-tiny-random");
    expect((await json(await server.post("/v1/completions", { model: "reasoning", prompt: "x", max_tokens: 2 }))).model).toBe("llama-2-tiny-random");
    await server.post("/admin/models/load", { model: "stories260K" });
  });

  it("serves waiting requests by X-Priority, then in arrival order", async () => {
    const loaded = server.lmx.services.models.get(model)!;
    loaded.scheduler.update({ slots: 1 });
    try {
      const blocker = new AbortController();
      const first = fetch(`${server.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, prompt: "Once", max_tokens: 100_000, stream: true, logit_bias: { 2: -100 } }),
        signal: blocker.signal,
      });
      const blocked = await first;
      while (loaded.scheduler.inFlight === 0) await new Promise((r) => setTimeout(r, 10));
      const finished: string[] = [];
      const send = async (name: string, priority: string) => {
        const response = await server.post("/v1/completions", { model, prompt: "Hi", max_tokens: 2 }, { "x-priority": priority });
        expect(response.status).toBe(200);
        finished.push(name);
      };
      const all: Array<Promise<void>> = [];
      for (const [name, priority] of [["low", "low"], ["normal-1", "normal"], ["critical", "critical"], ["normal-2", "0"], ["high", "high"]]) {
        all.push(send(name, priority));
        while (loaded.scheduler.queued < all.length) await new Promise((r) => setTimeout(r, 5));
      }
      blocker.abort();
      await blocked.body?.cancel().catch(() => {});
      await Promise.all(all);
      expect(finished).toEqual(["critical", "high", "normal-1", "normal-2", "low"]);
      expect((await server.post("/v1/completions", { model, prompt: "x", max_tokens: 1 }, { "x-priority": "urgent!" })).status).toBe(400);
    } finally {
      loaded.scheduler.update({ slots: 2 });
    }
  });

  it("limits each client's concurrency so others are not starved", async () => {
    const loaded = server.lmx.services.models.get(model)!;
    const controllers: AbortController[] = [];
    const long = (client: string) => {
      const controller = new AbortController();
      controllers.push(controller);
      return fetch(`${server.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-client-id": client },
        body: JSON.stringify({ model, prompt: "Once", max_tokens: 100_000, stream: true, logit_bias: { 2: -100 } }),
        signal: controller.signal,
      }).catch(() => null);
    };
    void long("noisy");
    void long("noisy");
    while (loaded.scheduler.inFlight + loaded.scheduler.queued < 2) await new Promise((r) => setTimeout(r, 10));
    // noisy's second request waits although a sequence is free: its limit is 1.
    expect(loaded.scheduler.runningFor("noisy")).toBe(1);
    expect(loaded.scheduler.queued).toBe(1);
    // Another client is served at once, ahead of noisy's waiting request.
    const other = await server.post("/v1/completions", { model, prompt: "Hi", max_tokens: 3 }, { "x-client-id": "quiet" });
    expect(other.status).toBe(200);
    expect(loaded.scheduler.runningFor("noisy")).toBe(1);
    for (const controller of controllers) controller.abort();
    while (loaded.scheduler.inFlight > 0 || loaded.scheduler.queued > 0) await new Promise((r) => setTimeout(r, 10));
  });
});

describe("metrics and request events", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ models: [model] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("exposes Prometheus metrics that move when requests run", async () => {
    const before = await (await server.get("/metrics")).text();
    expect(before).toContain("# TYPE lmx_requests_total counter");
    expect(before).toContain("# TYPE lmx_time_to_first_token_seconds histogram");
    expect(metricValue(before, "lmx_models_loaded", {}) || Number(/lmx_models_loaded (\d+)/.exec(before)?.[1])).toBe(1);

    const events: LmxEvent[] = [];
    server.lmx.services.events.subscribe((event) => events.push(event));
    await server.post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 5 }, { "x-client-id": "dash" });
    await server.post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 5, stream: true }, { "x-client-id": "dash" }).then((r) => r.text());
    await server.post("/v1/completions", { model: "nope", prompt: "x" });

    const after = await (await server.get("/metrics")).text();
    expect(metricValue(after, "lmx_requests_total", { route: "/v1/completions", model, status: "200", client: "dash" })).toBe(2);
    expect(metricValue(after, "lmx_completion_tokens_total", { model, client: "dash" })).toBe(10);
    expect(metricValue(after, "lmx_prompt_tokens_total", { model, client: "dash" })).toBe(10);
    expect(metricValue(after, "lmx_cached_prompt_tokens_total", { model })).toBeGreaterThan(0);
    expect(metricValue(after, "lmx_request_errors_total", { code: "model_not_found" })).toBe(1);
    expect(metricValue(after, "lmx_time_to_first_token_seconds_count", { model })).toBe(2);
    expect(metricValue(after, "lmx_decode_tokens_per_second_count", { model })).toBe(2);
    expect(metricValue(after, "lmx_in_flight_requests", { model })).toBe(0);
    expect(after).toMatch(/lmx_memory_bytes\{kind="total"\} \d+/);

    const completed = events.filter((e) => e.type === "request_completed").map((e) => e.data as Record<string, unknown>);
    expect(completed).toHaveLength(2);
    expect(completed[0]).toMatchObject({ route: "/v1/completions", model, status: 200, completion_tokens: 5, client_id: "dash" });

    const asJson = await json(await server.get("/admin/metrics/json"));
    expect(asJson.metrics.find((m: { name: string }) => m.name === "lmx_requests_total")).toBeDefined();
  });
});

describe("WebSocket chat stream", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ models: ["tiny-chat-phi3-random"], config: { websocket: { idle_timeout_ms: 800 } } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const open = () =>
    new Promise<{ ws: WebSocket; messages: Array<Record<string, unknown>>; next: (pred: (m: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> }>((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/chat/stream`);
      const messages: Array<Record<string, unknown>> = [];
      const waiters: Array<{ pred: (m: Record<string, unknown>) => boolean; done: (m: Record<string, unknown>) => void }> = [];
      ws.on("message", (data) => {
        const message = JSON.parse(data.toString()) as Record<string, unknown>;
        messages.push(message);
        for (const waiter of [...waiters]) {
          if (waiter.pred(message)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.done(message);
          }
        }
      });
      const next = (pred: (m: Record<string, unknown>) => boolean) =>
        new Promise<Record<string, unknown>>((done) => {
          const seen = messages.find(pred);
          if (seen) done(seen);
          else waiters.push({ pred, done });
        });
      ws.on("open", () => resolve({ ws, messages, next }));
      ws.on("error", reject);
    });

  it("serves several requests on one socket, streams tokens and tool calls, cancels, and reports errors", async () => {
    const { ws, messages, next } = await open();
    const request = (id: string, extra: Record<string, unknown> = {}) =>
      ws.send(JSON.stringify({ type: "chat.request", request_id: id, model: "tiny-chat-phi3-random", messages: [{ role: "user", content: "Hi" }], max_tokens: 6, seed: 1, ...extra }));
    request("a");
    request("b", {
      tools: [{ type: "function", function: { name: "ping", parameters: { type: "object", properties: { host: { type: "string", maxLength: 8 } }, required: ["host"] } } }],
      tool_choice: "required",
      max_tokens: 40,
    });
    request("c", { max_tokens: 100_000 });
    const doneA = await next((m) => m.type === "chat.done" && m.request_id === "a");
    expect(doneA.model).toBe("tiny-chat-phi3-random");
    expect((doneA.usage as { completion_tokens: number }).completion_tokens).toBe(6);
    const tokensA = messages.filter((m) => m.type === "chat.token" && m.request_id === "a").map((m) => m.content).join("");
    expect(tokensA.length).toBeGreaterThan(0);

    const doneB = await next((m) => m.type === "chat.done" && m.request_id === "b");
    expect((doneB.choices as Array<{ finish_reason: string }>)[0].finish_reason).toBe("tool_calls");
    const calls = messages.filter((m) => m.type === "chat.tool_call" && m.request_id === "b");
    expect(calls[0]).toMatchObject({ name: "ping", index: 0 });
    expect(JSON.parse(calls.map((m) => m.arguments).join(""))).toHaveProperty("host");

    await next((m) => m.type === "chat.token" && m.request_id === "c");
    ws.send(JSON.stringify({ type: "chat.cancel", request_id: "c" }));
    const cancelled = await next((m) => m.type === "chat.error" && m.request_id === "c");
    expect((cancelled.error as { code: string }).code).toBe("request_cancelled");

    ws.send("not json");
    expect(((await next((m) => m.type === "chat.error" && m.request_id === null)).error as { code: string }).code).toBe("invalid_json");
    request("d", { model: "nope" });
    expect(((await next((m) => m.type === "chat.error" && m.request_id === "d")).error as { code: string }).code).toBe("model_not_found");
    request("e", { temperature: 9 });
    expect(((await next((m) => m.type === "chat.error" && m.request_id === "e")).error as { param: string }).param).toBe("temperature");
    ws.close();
  });

  it("closes idle sockets", async () => {
    const { ws } = await open();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    expect(closed).toEqual({ code: 1000, reason: "idle" });
  });
});
