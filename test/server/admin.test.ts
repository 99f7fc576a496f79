import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { createLmx, type Lmx } from "../../src/lmx.js";
import { defaultFakeRepos, startFakeHub, type FakeHub } from "../support/fake-hub.js";
import { testModelPath } from "../support/models.js";
import { json, startTestServer, type TestServer } from "../support/server.js";

/** Reads named SSE events from a stream until `stop` says enough. */
async function readEvents(response: Response, stop: (events: Array<{ event: string; data: Record<string, unknown> }>) => boolean) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: Array<{ event: string; data: Record<string, unknown> }> = [];
  let buffered = "";
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffered.indexOf("\n\n")) !== -1) {
      const frame = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 2);
      const name = /^event: (.+)$/m.exec(frame)?.[1];
      const data = /^data: (.+)$/m.exec(frame)?.[1];
      if (name && data) events.push({ event: name, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

describe("admin API", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ models: ["stories260K", "tiny-chat-phi3-random"], load: ["stories260K"] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reports status, health and memory", async () => {
    const status = await json(await server.get("/admin/status"));
    expect(status.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(status.models).toHaveLength(1);
    expect(status.models[0]).toMatchObject({ id: "stories260K", state: "ready", pinned: true, in_flight: 0, queued: 0 });
    expect(status.models[0].memory_bytes).toBeGreaterThan(0);
    expect(status.limits).toMatchObject({ jit_loading: true, max_memory_percent: 90, load_shedding_percent: 95 });
    expect(status.memory.total_bytes).toBeGreaterThan(status.memory.free_bytes);

    expect(await json(await server.get("/admin/health"))).toMatchObject({ status: "ok", models_loaded: 1, models_ready: 1 });
    const memory = await json(await server.get("/admin/memory"));
    expect(memory.models[0].runner_rss_bytes).toBeGreaterThan(0);
    expect(memory.budget_bytes).toBeLessThan(memory.total_bytes);
  });

  it("lists models on disk with size, quantization, context length and architecture", async () => {
    const models = await json(await server.get("/admin/models"));
    const byId = Object.fromEntries(models.data.map((m: { id: string }) => [m.id, m]));
    expect(byId["stories260K"]).toMatchObject({ loaded: true, state: "ready", architecture: "llama", quantization: "F32", context_length: 2048, type: "llm" });
    expect(byId["tiny-chat-phi3-random"]).toMatchObject({ loaded: false, state: "not-loaded", has_chat_template: true });
    expect(byId["stories260K"].size_bytes).toBeGreaterThan(1_000_000);
    expect(models.loaded.map((m: { id: string }) => m.id)).toEqual(["stories260K"]);

    const one = await json(await server.get("/admin/models/tiny-chat-phi3-random"));
    expect(one.metadata.general.architecture).toBe("llama");
    expect((await server.get("/admin/models/nope")).status).toBe(404);
  });

  it("loads with settings, swaps, unloads, and validates the request", async () => {
    const loaded = await json(await server.post("/admin/models/load", { model: "tiny-chat-phi3-random", parallel: 3, context_size: 512, keep_alive: "10m" }));
    expect(loaded).toMatchObject({ id: "tiny-chat-phi3-random", parallel: 3, context_size: 512, keep_alive_ms: 600_000, state: "ready" });
    // The same model with other settings is swapped without a restart.
    const swapped = await json(await server.post("/admin/models/load", { model: "tiny-chat-phi3-random", parallel: 1 }));
    expect(swapped.parallel).toBe(1);
    expect(swapped.pid).not.toBe(loaded.pid);

    expect((await server.post("/admin/models/load", { model: "nope" })).status).toBe(404);
    const bad = await server.post("/admin/models/load", { model: "stories260K", parallel: 0 });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.param).toBe("parallel");
    expect((await json(await server.post("/admin/models/load", { model: "stories260K", keep_alive: "soon" }))).error.param).toBe("keep_alive");

    expect((await server.post("/admin/models/unload", { model: "tiny-chat-phi3-random" })).status).toBe(200);
    expect((await server.post("/admin/models/unload", { model: "tiny-chat-phi3-random" })).status).toBe(404);
  });

  it("refuses to delete a loaded model (409) and deletes one that is not", async () => {
    const copy = join(server.modelsDir, "deletable.gguf");
    copyFileSync(testModelPath("stories260K"), copy);
    await server.post("/admin/models/load", { model: "deletable" });
    const refused = await server.post("/admin/models/unload", { model: "x" }).then(() => fetch(`${server.url}/admin/models/deletable`, { method: "DELETE" }));
    expect(refused.status).toBe(409);
    expect((await json(refused)).error.code).toBe("model_loaded");
    await server.post("/admin/models/unload", { model: "deletable" });
    const deleted = await fetch(`${server.url}/admin/models/deletable`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(existsSync(copy)).toBe(false);
    expect((await fetch(`${server.url}/admin/models/deletable`, { method: "DELETE" })).status).toBe(404);
  });

  it("benchmarks a model: tokens/s and time to first token per run", async () => {
    const result = await json(await server.post("/admin/benchmark", { model: "stories260K", max_tokens: 32, runs: 3 }));
    expect(result.model).toBe("stories260K");
    expect(result.runs).toHaveLength(3);
    for (const run of result.runs) {
      expect(run.ttft_ms).toBeGreaterThan(0);
      expect(run.completion_tokens).toBeGreaterThan(0);
    }
    expect(result.ttft_ms.p50).toBeGreaterThan(0);
    expect((await server.post("/admin/benchmark", { model: "stories260K", runs: 0 })).status).toBe(400);
  });

  it("serves LM Studio's /api/v0/models", async () => {
    const list = await json(await server.get("/api/v0/models"));
    const stories = list.data.find((m: { id: string }) => m.id === "stories260K");
    expect(stories).toMatchObject({ object: "model", type: "llm", arch: "llama", compatibility_type: "gguf", quantization: "F32", state: "loaded", max_context_length: 2048 });
    const chat = await json(await server.get("/api/v0/models/tiny-chat-phi3-random"));
    expect(chat.state).toBe("not-loaded");
  });

  it("streams events: model_loaded, model_unloaded and heartbeats", async () => {
    const response = await fetch(`${server.url}/admin/events?heartbeat_ms=200`);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reading = readEvents(response, (events) => events.some((e) => e.event === "model_unloaded") && events.some((e) => e.event === "heartbeat"));
    await server.post("/admin/models/load", { model: "tiny-chat-phi3-random" });
    await server.post("/admin/models/unload", { model: "tiny-chat-phi3-random" });
    const events = await reading;
    expect(events.find((e) => e.event === "model_loaded")?.data).toMatchObject({ model: "tiny-chat-phi3-random" });
    expect(events.find((e) => e.event === "model_unloaded")?.data).toMatchObject({ model: "tiny-chat-phi3-random", reason: "request" });
  });
});

describe("downloads through the admin API", () => {
  let hub: FakeHub;
  let server: TestServer;
  beforeAll(async () => {
    hub = await startFakeHub({ repos: await defaultFakeRepos() });
    process.env.HF_ENDPOINT = hub.url;
    server = await startTestServer({});
  });
  afterAll(async () => {
    delete process.env.HF_ENDPOINT;
    await server?.stop();
    await hub?.close();
  });

  it("downloads a quant from a repo, reports progress, and the model is then loadable", async () => {
    const response = await server.post("/admin/models/download", { repo_id: "lmx-test/tiny-GGUF", quant: "Q4_K_M" });
    expect(response.status).toBe(202);
    const job = await json(response);
    let current = job;
    while (!["completed", "failed", "cancelled"].includes(current.status)) {
      await new Promise((r) => setTimeout(r, 50));
      current = await json(await server.get(`/admin/models/downloads/${job.id}`));
    }
    expect(current.status).toBe("completed");
    expect(current.bytes_done).toBe(current.bytes_total);
    expect((await json(await server.get("/admin/models/downloads"))).data.map((j: { id: string }) => j.id)).toContain(job.id);

    const ids = (await json(await server.get("/admin/models"))).data.map((m: { id: string }) => m.id);
    expect(ids).toContain("lmx-test/tiny-GGUF/tiny-Q4_K_M");
    const completion = await server.openai.completions.create({ model: "lmx-test/tiny-GGUF/tiny-Q4_K_M", prompt: "Once", max_tokens: 3 });
    expect(completion.model).toBe("lmx-test/tiny-GGUF/tiny-Q4_K_M");
  });

  it("deleting a downloaded model removes its manifest entry and the directories it leaves empty", async () => {
    const repoDir = join(server.modelsDir, "lmx-test", "tiny-GGUF");
    expect(existsSync(join(repoDir, "lmx-manifest.json"))).toBe(true);
    await server.post("/admin/models/unload", { model: "lmx-test/tiny-GGUF/tiny-Q4_K_M" });
    const deleted = await fetch(`${server.url}/admin/models/lmx-test/tiny-GGUF/tiny-Q4_K_M`, { method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(existsSync(repoDir)).toBe(false);
    expect(existsSync(join(server.modelsDir, "lmx-test"))).toBe(false);
  });

  it("answers 404 for an unknown repo and 400 for a bad request, and cancels a download", async () => {
    const missing = await server.post("/admin/models/download", { repo_id: "nobody/nothing" });
    const job = await json(missing);
    let current = job;
    while (current.status === "queued" || current.status === "running") {
      await new Promise((r) => setTimeout(r, 50));
      current = await json(await server.get(`/admin/models/downloads/${job.id}`));
    }
    expect(current.status).toBe("failed");
    expect(current.error).toMatchObject({ status: 404, code: "repo_not_found" });

    expect((await server.post("/admin/models/download", { repo: "x" })).status).toBe(400);
    expect((await server.get("/admin/models/downloads/nope")).status).toBe(404);

    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 20_000 });
    const slow = await json(await server.post("/admin/models/download", { repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" }));
    await new Promise((r) => setTimeout(r, 200));
    const cancelled = await fetch(`${server.url}/admin/models/downloads/${slow.id}`, { method: "DELETE" });
    expect(cancelled.status).toBe(200);
    expect((await json(cancelled)).status).toBe("cancelled");
    hub.reset();
  });
});

describe("security, presets and config reload", () => {
  let lmx: Lmx | undefined;
  afterEach(async () => {
    await lmx?.stop();
    lmx = undefined;
  });

  it("guards admin with X-Admin-Key and inference with a bearer key; health stays open", async () => {
    const server = await startTestServer({ models: ["stories260K"], config: { admin_key: "admin-secret-1", api_key: "api-secret-12" } });
    try {
      expect((await server.get("/admin/status")).status).toBe(401);
      expect((await json(await server.get("/admin/status"))).error.code).toBe("invalid_admin_key");
      expect((await server.get("/admin/status", { "x-admin-key": "wrong-key-xx" })).status).toBe(401);
      expect((await server.get("/admin/status", { "x-admin-key": "admin-secret-1" })).status).toBe(200);

      const body = { model: "stories260K", prompt: "x", max_tokens: 1 };
      expect((await server.post("/v1/completions", body)).status).toBe(401);
      expect((await json(await server.post("/v1/completions", body))).error.code).toBe("invalid_api_key");
      expect((await server.post("/v1/completions", body, { authorization: "Bearer api-secret-12" })).status).toBe(200);
      expect((await server.post("/v1/completions", body, { "x-api-key": "api-secret-12" })).status).toBe(200);
      expect((await server.get("/healthz")).status).toBe(200);
      expect((await server.get("/readyz")).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("serves presets by name and alias, and reloads config without a restart or an unload", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lmx-reload-"));
    const modelsDir = join(dir, "models");
    const presetsDir = join(dir, "presets");
    mkdirSync(modelsDir);
    mkdirSync(presetsDir);
    copyFileSync(testModelPath("stories260K"), join(modelsDir, "stories260K.gguf"));
    writeFileSync(
      join(presetsDir, "storyteller.yaml"),
      "name: storyteller\nmodel: stories260K\nalias: tales\nsystem_prompt: Tell a story.\nparameters:\n  temperature: 0\n  max_tokens: 7\n",
    );
    const configPath = join(dir, "config.yaml");
    const write = (extra: string, port = 0) =>
      writeFileSync(configPath, `port: ${port}\nmodels_dir: ${modelsDir}\npresets_dir: ${presetsDir}\nauto_load: [stories260K]\nmodel_defaults: {threads: 1, parallel: 1, context_size: 512}\nocto: {db_path: ':memory:'}\n${extra}`);
    write("aliases:\n  fast: [stories260K]\n");
    const source = { configPath, env: {} };
    lmx = await createLmx(loadConfig(source), { configSource: source, logDestination: new PassThrough() });
    const { url, modelsLoaded } = await lmx.start();
    await modelsLoaded;
    const post = (body: unknown) => fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    const viaPreset = await json(await post({ model: "preset:storyteller", prompt: "Once" }));
    expect(viaPreset.model).toBe("stories260K");
    expect(viaPreset.usage.completion_tokens).toBe(7);
    const viaAlias = await post({ model: "tales", prompt: "Once" });
    expect(viaAlias.headers.get("x-lmx-model")).toBe("stories260K");
    expect((await json(viaAlias)).choices[0].text).toBe(viaPreset.choices[0].text);
    expect((await post({ model: "fast", prompt: "Once", max_tokens: 2 })).status).toBe(200);
    expect((await post({ model: "preset:nope", prompt: "Once" })).status).toBe(404);
    const presets = await json(await fetch(`${url}/admin/presets`));
    expect(presets.data.map((p: { name: string }) => p.name)).toEqual(["storyteller"]);
    expect(presets.aliases).toMatchObject({ fast: ["stories260K"], tales: ["preset:storyteller"] });

    const pid = lmx.services.models.get("stories260K")!.pid;
    write("aliases:\n  quick: [stories260K]\nload_shedding_percent: 99\nadmin_key: now-secret\n", 9);
    const reloaded = await json(await fetch(`${url}/admin/config/reload`, { method: "POST" }));
    expect(reloaded.changed.sort()).toEqual(["admin_key", "aliases", "load_shedding_percent"]);
    expect(reloaded.ignored).toEqual(["port"]);
    expect(lmx.services.models.get("stories260K")!.pid).toBe(pid);
    expect((await post({ model: "quick", prompt: "Once", max_tokens: 2 })).status).toBe(200);
    expect((await post({ model: "fast", prompt: "Once", max_tokens: 2 })).status).toBe(404);
    expect((await fetch(`${url}/admin/status`)).status).toBe(401);

    // An invalid file is refused and changes nothing.
    writeFileSync(configPath, "port: -5\n");
    const refused = await fetch(`${url}/admin/config/reload`, { method: "POST", headers: { "x-admin-key": "now-secret" } });
    expect(refused.status).toBe(400);
    expect((await json(refused)).error.message).toMatch(/port/);
    expect(lmx.services.config().load_shedding_percent).toBe(99);
  });
});
