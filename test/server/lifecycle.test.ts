import { afterEach, describe, expect, it } from "vitest";
import type { LmxEvent } from "../../src/telemetry/events.js";
import { estimateMemory } from "../../src/models/gguf-info.js";
import { testModelPath } from "../support/models.js";
import { json, readSse, startTestServer, type TestServer } from "../support/server.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function record(test: TestServer): LmxEvent[] {
  const events: LmxEvent[] = [];
  test.lmx.services.events.subscribe((event) => events.push(event));
  return events;
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const ask = (test: TestServer, model: string, extra: Record<string, unknown> = {}) =>
  test.post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 3, ...extra });

describe("model lifecycle", () => {
  it("loads a model on disk just in time, once for concurrent requests", async () => {
    server = await startTestServer({ models: ["stories260K", "llama-2-tiny-random"], load: [] });
    const events = record(server);
    expect(server.lmx.services.models.list()).toHaveLength(0);
    const responses = await Promise.all(Array.from({ length: 4 }, () => ask(server!, "stories260K")));
    for (const response of responses) expect(response.status).toBe(200);
    const loads = events.filter((e) => e.type === "model_loaded");
    expect(loads).toHaveLength(1);
    expect(loads[0].data).toMatchObject({ model: "stories260K", pinned: false });
    expect(server.lmx.services.models.list().map((m) => m.id)).toEqual(["stories260K"]);

    // Not on disk: 404, nothing loaded.
    expect((await ask(server, "nope")).status).toBe(404);
  });

  it("refuses just-in-time loading when it is off", async () => {
    server = await startTestServer({ models: ["stories260K"], load: [], config: { jit_loading: false } });
    const response = await ask(server, "stories260K");
    expect(response.status).toBe(404);
    expect((await json(response)).error.code).toBe("model_not_found");
  });

  it("unloads idle models when their keep-alive expires; keep_alive 0 unloads right after the request", async () => {
    server = await startTestServer({ models: ["stories260K", "llama-2-tiny-random"], load: [], config: { keep_alive: "10m" } });
    const events = record(server);
    expect((await ask(server, "stories260K", { keep_alive: "1s" })).status).toBe(200);
    expect(server.lmx.services.models.describe("stories260K")?.keep_alive_ms).toBe(1000);
    await until(() => events.some((e) => e.type === "model_unloaded"), "keep-alive expiry");
    expect(events.find((e) => e.type === "model_unloaded")?.data).toEqual({ model: "stories260K", reason: "keep_alive" });
    expect(server.lmx.services.models.get("stories260K")).toBeUndefined();

    expect((await ask(server, "llama-2-tiny-random", { keep_alive: 0 })).status).toBe(200);
    await until(() => !server!.lmx.services.models.get("llama-2-tiny-random"), "keep_alive 0 unload");

    // A negative keep-alive keeps it loaded for good.
    expect((await ask(server, "stories260K", { keep_alive: -1 })).status).toBe(200);
    expect(server.lmx.services.models.describe("stories260K")?.keep_alive_ms).toBeNull();
  });

  it("evicts the least recently used unpinned model at max_loaded_models; pinned models stay", async () => {
    server = await startTestServer({
      models: ["stories260K", "llama-2-tiny-random", "tiny-chat-phi3-random"],
      load: ["tiny-chat-phi3-random"], // pinned: loaded at start
      config: { max_loaded_models: 2 },
    });
    const events = record(server);
    expect((await ask(server, "stories260K")).status).toBe(200);
    expect((await ask(server, "llama-2-tiny-random")).status).toBe(200);
    const evicted = events.filter((e) => e.type === "model_unloaded").map((e) => e.data);
    expect(evicted).toEqual([{ model: "stories260K", reason: "evicted" }]);
    expect(server.lmx.services.models.list().map((m) => m.id).sort()).toEqual(["llama-2-tiny-random", "tiny-chat-phi3-random"]);
  });

  it("evicts least recently used models to fit the memory budget, and refuses with 507 what cannot fit", async () => {
    server = await startTestServer({ models: ["stories260K", "llama-2-tiny-random"], load: [] });
    const status = await json(await server.get("/admin/memory"));
    expect(status.total_bytes).toBeGreaterThan(0);

    // A budget so small that nothing fits.
    server.lmx.services.config().max_memory_percent = 0.01;
    const refused = await server.post("/admin/models/load", { model: "stories260K" });
    expect(refused.status).toBe(507);
    const error = (await json(refused)).error;
    expect(error.code).toBe("insufficient_memory");
    expect(error.message).toMatch(/needs about .* available/);
    expect(server.lmx.services.models.list()).toHaveLength(0);

    // A budget for the second model alone: loading it evicts the first.
    server.lmx.services.config().max_memory_percent = 100;
    const first = await json(await server.post("/admin/models/load", { model: "stories260K", context_size: 256, parallel: 1 }));
    const need = await estimateMemory(testModelPath("llama-2-tiny-random"), { contextSize: 256, parallel: 1, gpuLayers: 0 });
    const needBytes = need.ramBytes + need.vramBytes;
    expect(first.memory_bytes).toBeGreaterThan(needBytes * 0.1);
    const onePercent = server.lmx.services.memory.snapshot(0).total_bytes / 100;
    server.lmx.services.config().max_memory_percent = (needBytes * 1.1) / onePercent;
    const events = record(server);
    const second = await server.post("/admin/models/load", { model: "llama-2-tiny-random", context_size: 256, parallel: 1 });
    expect(second.status).toBe(200);
    expect(events.filter((e) => e.type === "model_unloaded").map((e) => e.data)).toEqual([{ model: "stories260K", reason: "evicted" }]);
  });

  it("unloading lets a running stream finish, or cuts it off cleanly after the grace period", async () => {
    server = await startTestServer({ models: ["stories260K"], load: [], config: { unload_grace_ms: 20_000, model_defaults: { context_size: 2048 } } });
    await server.post("/admin/models/load", { model: "stories260K" });
    const stream = server.post("/v1/completions", { model: "stories260K", prompt: "Once", max_tokens: 300, stream: true, logit_bias: { 2: -100 } });
    await new Promise((r) => setTimeout(r, 100));
    const unload = await server.post("/admin/models/unload", { model: "stories260K" });
    expect(unload.status).toBe(200);
    const frames = await readSse(await stream);
    const last = frames.at(-2) as { choices: Array<{ finish_reason: string }> };
    expect(frames.at(-1)).toBe("[DONE]");
    expect(last.choices[0].finish_reason).toBe("length");

    // With a short grace period, a long stream is ended with an error frame; the server is fine.
    server.lmx.services.config().unload_grace_ms = 200;
    await server.post("/admin/models/load", { model: "stories260K" });
    const long = server.post("/v1/completions", { model: "stories260K", prompt: "Once", max_tokens: 100_000, stream: true, logit_bias: { 2: -100 } });
    await new Promise((r) => setTimeout(r, 100));
    expect((await server.post("/admin/models/unload", { model: "stories260K" })).status).toBe(200);
    const cut = await readSse(await long);
    expect((cut.at(-1) as { error: { code: string } }).error.code).toBe("model_unloaded");
    expect((await server.get("/healthz")).status).toBe(200);
  });

  it("sheds load above load_shedding_percent, but not health checks", async () => {
    server = await startTestServer({ models: ["stories260K"], config: { load_shedding_percent: 0.1 } });
    await new Promise((r) => setTimeout(r, 300)); // the shedding check is re-read every 250 ms
    const response = await ask(server, "stories260K");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect((await json(response)).error.code).toBe("overloaded");
    expect((await server.get("/healthz")).status).toBe(200);
    expect((await server.get("/readyz")).status).toBe(200);
  });
});
