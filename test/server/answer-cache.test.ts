import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, readSse, startTestServer, type TestServer } from "../support/server.js";

const model = "tiny-chat-phi3-random";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ models: [model], config: { reflex: { answer_cache: { enabled: true, max_entries: 10, ttl_seconds: 60 } } } });
});
afterAll(async () => {
  await server?.stop();
});

describe("answer cache", () => {
  it("answers an identical deterministic request from the store, streamed or not", async () => {
    const body = { model, messages: [{ role: "user", content: "Cache me" }], max_tokens: 8, temperature: 0 };
    const loaded = server.lmx.services.models.get(model)!;
    const first = await server.post("/v1/chat/completions", body);
    expect(first.headers.get("x-lmx-cache")).toBe("miss");
    const firstBody = await json(first);
    const generated = (await loaded.stats()).generatedTokens;

    const second = await server.post("/v1/chat/completions", body);
    expect(second.headers.get("x-lmx-cache")).toBe("hit");
    const secondBody = await json(second);
    expect(secondBody.choices[0].message.content).toBe(firstBody.choices[0].message.content);
    expect(secondBody.usage).toEqual(firstBody.usage);
    expect(secondBody.id).not.toBe(firstBody.id);

    const streamed = await server.post("/v1/chat/completions", { ...body, stream: true });
    expect(streamed.headers.get("x-lmx-cache")).toBe("hit");
    const text = (await readSse(streamed))
      .filter((f): f is { choices: Array<{ delta: { content?: string } }> } => typeof f === "object")
      .map((f) => f.choices[0]?.delta.content ?? "")
      .join("");
    expect(text).toBe(firstBody.choices[0].message.content);
    // Nothing was generated for the two answers from the store.
    expect((await loaded.stats()).generatedTokens).toBe(generated);
  });

  it("never stores sampled requests, and tells apart different parameters", async () => {
    const sampled = await server.post("/v1/chat/completions", { model, messages: [{ role: "user", content: "x" }], max_tokens: 3, temperature: 0.9 });
    expect(sampled.headers.get("x-lmx-cache")).toBeNull();
    const seeded = { model, messages: [{ role: "user", content: "x" }], max_tokens: 3, temperature: 0.9, seed: 5 };
    expect((await server.post("/v1/chat/completions", seeded)).headers.get("x-lmx-cache")).toBe("miss");
    expect((await server.post("/v1/chat/completions", seeded)).headers.get("x-lmx-cache")).toBe("hit");
    expect((await server.post("/v1/chat/completions", { ...seeded, seed: 6 })).headers.get("x-lmx-cache")).toBe("miss");
    expect((await server.post("/v1/chat/completions", { ...seeded, max_tokens: 4 })).headers.get("x-lmx-cache")).toBe("miss");
  });
});
