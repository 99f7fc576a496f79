import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { json, startTestServer, type TestServer } from "../support/server.js";

const model = "stories260K";

/** Reads an SSE body until `frames` data frames arrived, then stops reading (the caller may abort). */
async function readFrames(response: Response, frames: number): Promise<void> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let seen = 0;
  let text = "";
  while (seen < frames) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    seen = text.split("\n\n").filter((f) => f.startsWith("data: ")).length;
  }
}

describe("many clients at once", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ models: [model], config: { model_defaults: { parallel: 4, context_size: 512 } } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("completes 8 concurrent streams, each whole and in order", async () => {
    const run = async (i: number) => {
      const stream = await server.openai.chat.completions.create({
        model,
        messages: [{ role: "user", content: `Tell story number ${i}` }],
        max_tokens: 40,
        temperature: 0.7,
        seed: i,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let finish = null;
      let usage;
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices) {
          text += choice.delta.content ?? "";
          finish = choice.finish_reason ?? finish;
        }
      }
      return { text, finish, usage };
    };
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => run(i)));
    for (const result of results) {
      expect(result.text.length).toBeGreaterThan(0);
      expect(["stop", "length"]).toContain(result.finish);
      expect(result.usage!.completion_tokens).toBeGreaterThan(0);
    }
    // Each stream is the same as that request served alone.
    const alone = await server.openai.chat.completions.create({ model, messages: [{ role: "user", content: "Tell story number 3" }], max_tokens: 40, temperature: 0.7, seed: 3 });
    expect(results[3].text).toBe(alone.choices[0].message.content);
  });
});

describe("queue bound and disconnects", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      models: [model],
      config: { model_defaults: { parallel: 1, context_size: 2048 }, queue: { max_size: 1, retry_after_seconds: 2 } },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const controllers: AbortController[] = [];
  afterEach(() => {
    for (const controller of controllers.splice(0)) controller.abort();
  });

  const longStream = (signal: AbortSignal) =>
    fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, prompt: "Once upon a time", max_tokens: 100_000, stream: true, temperature: 1, seed: 9 }),
      signal,
    });

  it("answers 429 with Retry-After beyond the queue bound, and serves the queued request after", async () => {
    const busy = new AbortController();
    controllers.push(busy);
    const first = await longStream(busy.signal);
    await readFrames(first, 2); // it holds the only sequence now

    const queued = server.post("/v1/completions", { model, prompt: "One day", max_tokens: 3 });
    await new Promise((r) => setTimeout(r, 100));
    const refused = await server.post("/v1/completions", { model, prompt: "Another day", max_tokens: 3 });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("2");
    const body = await json(refused);
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.code).toBe("queue_full");

    busy.abort();
    const served = await queued;
    expect(served.status).toBe(200);
    expect((await json(served)).choices[0].text.length).toBeGreaterThan(0);
  });

  it("a client disconnecting mid-stream frees its sequence: the next request is served at once", async () => {
    const client = new AbortController();
    const response = await longStream(client.signal);
    await readFrames(response, 5);
    client.abort();

    const loaded = server.lmx.services.models.get(model)!;
    // The sequence is released as soon as the runner sees the abort (no fixed wait: poll its state).
    while ((await loaded.stats()).busySequences > 0) await new Promise((r) => setTimeout(r, 20));
    expect(loaded.scheduler.inFlight).toBe(0);
    const before = (await loaded.stats()).generatedTokens;
    await new Promise((r) => setTimeout(r, 300));
    // Generation stopped: no token was produced for the abandoned stream since.
    expect((await loaded.stats()).generatedTokens).toBe(before);

    // Had the abandoned generation kept its sequence, this would queue behind it until its 2048-token context filled.
    const next = await server.openai.completions.create({ model, prompt: "The end", max_tokens: 4 });
    expect(next.choices[0].text.length).toBeGreaterThan(0);
    expect((await loaded.stats()).generatedTokens).toBe(before + 4);
  });
});
