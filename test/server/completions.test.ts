import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, readSse, startTestServer, type TestServer } from "../support/server.js";

const model = "stories260K";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ models: ["stories260K"] });
});
afterAll(async () => {
  await server?.stop();
});

describe("legacy completions", () => {
  it("continues a prompt, with OpenAI's default of 16 tokens", async () => {
    const completion = await server.openai.completions.create({ model, prompt: "Once upon a time", temperature: 0 });
    expect(completion.object).toBe("text_completion");
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.choices[0].text.length).toBeGreaterThan(10);
    expect(completion.choices[0].finish_reason).toBe("length");
    expect(completion.usage!.completion_tokens).toBe(16);
    // The real tokenizer: BOS + 4 tokens for this prompt in the stories260K vocabulary.
    expect(completion.usage!.prompt_tokens).toBe(5);
  });

  it("streams the same text it returns whole", async () => {
    const request = { model, prompt: "Lily and Ben went to the park", max_tokens: 24, temperature: 0 };
    const whole = await server.openai.completions.create(request);
    const stream = await server.openai.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) text += choice.text;
    }
    expect(text).toBe(whole.choices[0].text);
    expect(usage?.completion_tokens).toBe(24);
  });

  it("echoes the prompt, stops at stop strings, and takes a list of prompts", async () => {
    const echoed = await server.openai.completions.create({ model, prompt: "The cat", echo: true, max_tokens: 4, temperature: 0 });
    expect(echoed.choices[0].text.startsWith("The cat")).toBe(true);

    const full = (await server.openai.completions.create({ model, prompt: "Once upon a time", max_tokens: 30, temperature: 0 })).choices[0].text;
    const stop = full.slice(10, 14);
    const stopped = await server.openai.completions.create({ model, prompt: "Once upon a time", max_tokens: 30, temperature: 0, stop });
    expect(stopped.choices[0].text).toBe(full.slice(0, full.indexOf(stop)));
    expect(stopped.choices[0].finish_reason).toBe("stop");

    const many = await server.openai.completions.create({ model, prompt: ["One day", "The sun"], max_tokens: 5, n: 2, temperature: 0.8, seed: 1 });
    expect(many.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
  });

  it("accepts a prompt as token ids and reports logprobs", async () => {
    const completion = await server.openai.completions.create({ model, prompt: [1, 403, 407, 261, 378], max_tokens: 4, temperature: 0, logprobs: 2 });
    const logprobs = completion.choices[0].logprobs!;
    expect(logprobs.tokens).toHaveLength(4);
    expect(logprobs.token_logprobs).toHaveLength(4);
    expect(Object.keys(logprobs.top_logprobs![0]).length).toBeGreaterThanOrEqual(1);
    expect(logprobs.text_offset![0]).toBe(0);
  });

  it("refuses suffix for a model without fill-in-the-middle tokens", async () => {
    const response = await server.post("/v1/completions", { model, prompt: "def f(", suffix: "return x" });
    expect(response.status).toBe(400);
    const body = await json(response);
    expect(body.error.param).toBe("suffix");
  });

  it("streams completions as text_completion chunks ending in [DONE]", async () => {
    const response = await server.post("/v1/completions", { model, prompt: "Tim", max_tokens: 3, stream: true });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const frames = await readSse(response);
    expect(frames.at(-1)).toBe("[DONE]");
    const chunks = frames.slice(0, -1) as Array<{ object: string; choices: Array<{ finish_reason: string | null }> }>;
    expect(chunks.every((c) => c.object === "text_completion")).toBe(true);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe("length");
  });
});

describe("embeddings", () => {
  it("embeds a string, a list and token arrays, normalised, as float or base64", async () => {
    const one = await server.openai.embeddings.create({ model, input: "a happy dog", encoding_format: "float" });
    expect(one.object).toBe("list");
    expect(one.data).toHaveLength(1);
    const vector = one.data[0].embedding;
    expect(vector.length).toBe(64);
    const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
    expect(norm).toBeCloseTo(1, 4);
    expect(one.usage.prompt_tokens).toBeGreaterThan(0);

    const many = await server.openai.embeddings.create({ model, input: ["a happy dog", "a sad cat"], encoding_format: "float" });
    expect(many.data.map((d) => d.index)).toEqual([0, 1]);
    expect(many.data[0].embedding).toEqual(vector);
    expect(many.data[1].embedding).not.toEqual(vector);

    // The official client asks for base64 by default and decodes it.
    const decoded = await server.openai.embeddings.create({ model, input: "a happy dog" });
    decoded.data[0].embedding.forEach((v, i) => expect(v).toBeCloseTo(vector[i], 5));

    const tokens = await server.openai.embeddings.create({ model, input: [[1, 403, 407]], encoding_format: "float" });
    expect(tokens.data[0].embedding.length).toBe(64);
  });

  it("refuses dimensions it cannot produce", async () => {
    const response = await server.post("/v1/embeddings", { model, input: "x", dimensions: 8 });
    expect(response.status).toBe(400);
    expect((await json(response)).error.param).toBe("dimensions");
    const same = await server.post("/v1/embeddings", { model, input: "x", dimensions: 64 });
    expect(same.status).toBe(200);
  });
});

describe("models", () => {
  it("lists and shows loaded models as OpenAI does", async () => {
    const list = await server.openai.models.list();
    expect(list.data.map((m) => m.id)).toEqual([model]);
    expect(list.data[0].object).toBe("model");
    const one = await server.openai.models.retrieve(model);
    expect(one.id).toBe(model);
    const missing = await server.get("/v1/models/nope");
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe("model_not_found");
  });
});
