import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { testModelPath } from "../support/models.js";
import { json, metricValue, startTestServer, type TestServer } from "../support/server.js";

// The same model file under several ids, each with its own decoding settings: plain decoding, prompt
// lookup, a draft model (the model drafting for itself, so that many drafts are right) and
// no prefix cache. At temperature 0 each must write exactly what plain decoding writes.
const variants = ["spec-plain", "spec-lookup", "spec-draft", "spec-nocache"] as const;

const prompt =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. " +
  "One day, she saw a big, red ball in the park. Once upon a time, there was a little girl named Lily. She";

describe("speculative decoding and the prefix-cache switch", () => {
  let server: TestServer;
  let linkDir: string;

  beforeAll(async () => {
    linkDir = mkdtempSync(join(tmpdir(), "lmx-spec-"));
    const files = variants.map((id) => {
      const path = join(linkDir, `${id}.gguf`);
      symlinkSync(testModelPath("stories260K"), path);
      return path;
    });
    server = await startTestServer({
      models: ["stories260K", "llama-2-tiny-random"],
      files,
      load: [...variants],
      config: {
        max_loaded_models: 8,
        models: {
          "spec-lookup": { speculative: { prompt_lookup: true, max_draft_tokens: 4 } },
          "spec-draft": { speculative: { draft_model: "stories260K", max_draft_tokens: 6 } },
          "spec-nocache": { prefix_cache: false },
        },
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(linkDir, { recursive: true, force: true });
  });

  const complete = async (model: string, text = prompt) => {
    const completion = await server.openai.completions.create({ model, prompt: text, max_tokens: 80, temperature: 0 });
    return completion;
  };

  it("writes exactly what plain decoding writes at temperature 0, and counts accepted drafts", async () => {
    const plain = await complete("spec-plain");
    expect(plain.usage?.completion_tokens).toBe(80);
    const lookup = await complete("spec-lookup");
    const draft = await complete("spec-draft");
    expect(lookup.choices[0].text).toBe(plain.choices[0].text);
    expect(draft.choices[0].text).toBe(plain.choices[0].text);

    const metrics = await (await server.get("/metrics")).text();
    // A model drafting for itself is mostly right (drafting stops at tokens it is unsure of).
    expect(metricValue(metrics, "lmx_speculative_tokens_total", { model: "spec-draft", outcome: "accepted" })).toBeGreaterThan(10);
    // The story repeats its opening, so prompt lookup finds drafts; some are right.
    expect(metricValue(metrics, "lmx_speculative_tokens_total", { model: "spec-lookup", outcome: "accepted" })).toBeGreaterThan(0);
    expect(metricValue(metrics, "lmx_speculative_tokens_total", { model: "spec-plain", outcome: "accepted" })).toBe(0);
  });

  it("honours logit_bias with speculation (the draft model drafts without it)", async () => {
    const biased = async (model: string) =>
      (await server.openai.completions.create({ model, prompt, max_tokens: 48, temperature: 0, logit_bias: { "1": -100, "2": -100, "13": -100 } }))
        .choices[0].text;
    const plain = await biased("spec-plain");
    expect(await biased("spec-draft")).toBe(plain);
    expect(await biased("spec-lookup")).toBe(plain);
  });

  it("streams the same text with speculation as without", async () => {
    const collect = async (model: string) => {
      const stream = await server.openai.chat.completions.create({
        model,
        messages: [{ role: "user", content: prompt }],
        max_tokens: 48,
        temperature: 0,
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      return text;
    };
    const plain = await collect("spec-plain");
    expect(plain.length).toBeGreaterThan(0);
    expect(await collect("spec-draft")).toBe(plain);
    expect(await collect("spec-lookup")).toBe(plain);
  });

  it("reports cached prompt tokens with the prefix cache and none without, with identical outputs", async () => {
    const twice = async (model: string) => {
      const first = await complete(model, `${prompt} Tom`);
      const second = await complete(model, `${prompt} Tom`);
      return { first, second };
    };
    const cached = await twice("spec-plain");
    const uncached = await twice("spec-nocache");
    const promptTokens = cached.first.usage!.prompt_tokens;
    const cachedTokens = (u: typeof cached.second.usage) =>
      (u as unknown as { prompt_tokens_details?: { cached_tokens?: number } }).prompt_tokens_details?.cached_tokens ?? 0;

    expect(cachedTokens(cached.second.usage)).toBe(promptTokens - 1);
    expect(cachedTokens(uncached.first.usage)).toBe(0);
    expect(cachedTokens(uncached.second.usage)).toBe(0);
    for (const c of [cached.second, uncached.first, uncached.second]) expect(c.choices[0].text).toBe(cached.first.choices[0].text);
  });

  it("shows each model's decoding settings in the admin API", async () => {
    const status = (await json(await server.get("/admin/models"))) as { loaded: Array<{ id: string; prefix_cache: boolean; speculative: unknown }> };
    const byId = new Map(status.loaded.map((model) => [model.id, model]));
    expect(byId.get("spec-plain")).toMatchObject({ prefix_cache: true, speculative: null });
    expect(byId.get("spec-nocache")).toMatchObject({ prefix_cache: false });
    expect(byId.get("spec-lookup")?.speculative).toEqual({ prompt_lookup: true, max_draft_tokens: 4 });
    expect(byId.get("spec-draft")?.speculative).toEqual({ draft_model: "stories260K", min_draft_tokens: 6, max_draft_tokens: 6, min_confidence: 0.6 });
  });

  it("refuses a load whose draft model does not exist, or does not share the vocabulary", async () => {
    const missing = await server.post("/admin/models/load", { model: "spec-plain", speculative: { draft_model: "no-such-model" } });
    expect(missing.status).toBe(400);
    const body = await json(missing);
    expect(body.error).toMatchObject({ param: "speculative.draft_model", code: "model_not_found" });

    const both = await server.post("/admin/models/load", { model: "spec-plain", speculative: { draft_model: "stories260K", prompt_lookup: true } });
    expect(both.status).toBe(400);
    const foreign = await server.post("/admin/models/load", { model: "spec-plain", speculative: { draft_model: "llama-2-tiny-random" } });
    expect(foreign.status).toBe(400);
    expect((await json(foreign)).error).toMatchObject({
      param: "speculative.draft_model",
      message: expect.stringContaining("vocabulary"),
    });
    // The model still serves (loaded again just in time with its configured settings).
    expect((await complete("spec-plain")).choices[0].text.length).toBeGreaterThan(0);
  });

  it("rejects invalid speculative settings in the config, naming the key", () => {
    expect(() => parseConfig({ models: { x: { speculative: { prompt_lookup: true, draft_model: "y" } } } })).toThrow(/speculative/);
    expect(() => parseConfig({ models: { x: { speculative: { max_draft_tokens: 0, prompt_lookup: true } } } })).toThrow(/max_draft_tokens/);
  });
});
