import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../../src/engine/loaded-model.js";
import { json, readSse, startTestServer, type TestServer } from "../support/server.js";

const model = "stories260K";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    models: [model, "llama-2-tiny-random"],
    config: {
      model_defaults: { parallel: 2, context_size: 2048 },
      runner: { hang_timeout_ms: 1500, max_crashes: 4, crash_window_ms: 60_000 },
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function waitReady(loaded: LoadedModel): Promise<void> {
  while (loaded.state !== "ready") {
    if (loaded.state === "quarantined") throw new Error("quarantined");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const longCompletion = (stream: boolean) =>
  server.post("/v1/completions", { model, prompt: "Once upon a time", max_tokens: 100_000, temperature: 1, seed: 1, stream });

describe("a runner crash or hang fails only its own requests", () => {
  it("a native crash mid-stream ends that stream with an error; the API stays up and the runner restarts", async () => {
    const loaded = server.lmx.services.models.get(model)!;
    const pid = loaded.pid!;
    const streaming = longCompletion(true);
    const other = server.post("/v1/completions", { model: "llama-2-tiny-random", prompt: "hello", max_tokens: 20 });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid, "SIGKILL");

    const response = await streaming;
    const frames = await readSse(response);
    const last = frames.at(-1) as { error?: { code: string; type: string } };
    expect(last.error?.code).toBe("model_crashed");
    expect(last.error?.type).toBe("service_unavailable_error");

    // The other model, in its own process, was not affected.
    expect((await other).status).toBe(200);
    expect((await server.get("/healthz")).status).toBe(200);

    await waitReady(loaded);
    expect(loaded.pid).not.toBe(pid);
    const after = await server.openai.completions.create({ model, prompt: "The dog", max_tokens: 5 });
    expect(after.choices[0].text.length).toBeGreaterThan(0);
  });

  it("a crash during a non-streamed request answers 503 with Retry-After", async () => {
    const loaded = server.lmx.services.models.get(model)!;
    const pending = longCompletion(false);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(loaded.pid!, "SIGKILL");
    const response = await pending;
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect((await json(response)).error.code).toBe("model_crashed");
    await waitReady(loaded);
  });

  it("a hung runner (no progress) is killed after hang_timeout_ms and restarted", async () => {
    const loaded = server.lmx.services.models.get(model)!;
    const pid = loaded.pid!;
    const pending = longCompletion(false);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid, "SIGSTOP");
    const response = await pending;
    expect(response.status).toBe(503);
    expect((await json(response)).error.code).toBe("model_crashed");
    await waitReady(loaded);
    expect(loaded.pid).not.toBe(pid);
  });

  it("a model that keeps crashing is quarantined", async () => {
    const loaded = server.lmx.services.models.get(model)!;
    // The fourth crash within the window (three happened above) quarantines it.
    process.kill(loaded.pid!, "SIGKILL");
    while (loaded.state === "ready") await new Promise((r) => setTimeout(r, 20));
    expect(loaded.state).toBe("quarantined");
    const response = await server.post("/v1/completions", { model, prompt: "x", max_tokens: 2 });
    expect(response.status).toBe(503);
    expect((await json(response)).error.code).toBe("model_quarantined");
    // Everything else is still served.
    expect((await server.post("/v1/completions", { model: "llama-2-tiny-random", prompt: "x", max_tokens: 2 })).status).toBe(200);
  });
});
