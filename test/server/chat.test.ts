import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

const chatModel = "tiny-chat-phi3-random";
const user = [{ role: "user" as const, content: "What is the weather in Paris today?" }];

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ models: [chatModel] });
});
afterAll(async () => {
  await server?.stop();
});

describe("chat completions through the official openai client", () => {
  it("answers a chat, non-streamed, with usage from the tokenizer", async () => {
    const completion = await server.openai.chat.completions.create({
      model: chatModel,
      messages: [{ role: "system", content: "You are terse." }, ...user],
      max_tokens: 12,
      temperature: 0,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe(chatModel);
    expect(completion.id).toMatch(/^chatcmpl-/);
    const choice = completion.choices[0];
    expect(choice.message.role).toBe("assistant");
    expect(typeof choice.message.content).toBe("string");
    expect(choice.message.content!.length).toBeGreaterThan(0);
    expect(["stop", "length"]).toContain(choice.finish_reason);
    // A random-weight model rarely ends on its own within 12 tokens; when it hits the limit, it used all 12.
    if (choice.finish_reason === "length") expect(completion.usage!.completion_tokens).toBe(12);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(10);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it("gives the same output for the same seed, streamed or not", async () => {
    const request = { model: chatModel, messages: user, max_tokens: 16, temperature: 0.9, seed: 1234 };
    const first = await server.openai.chat.completions.create(request);
    const second = await server.openai.chat.completions.create(request);
    expect(second.choices[0].message.content).toBe(first.choices[0].message.content);

    const stream = await server.openai.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let streamed = "";
    let usage;
    let finish;
    let roles = 0;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        if (choice.delta.role) roles++;
        streamed += choice.delta.content ?? "";
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    expect(streamed).toBe(first.choices[0].message.content);
    expect(roles).toBe(1);
    expect(finish).toBe(first.choices[0].finish_reason);
    expect(usage?.completion_tokens).toBe(first.usage!.completion_tokens);
    expect(usage?.prompt_tokens).toBe(first.usage!.prompt_tokens);
  });

  it("ends with finish_reason length at max_tokens (and max_completion_tokens)", async () => {
    for (const limit of [{ max_tokens: 5 }, { max_completion_tokens: 5 }]) {
      const completion = await server.openai.chat.completions.create({ model: chatModel, messages: user, temperature: 0, ...limit });
      expect(completion.choices[0].finish_reason).toBe("length");
      expect(completion.usage!.completion_tokens).toBe(5);
    }
  });

  it("returns n choices", async () => {
    const completion = await server.openai.chat.completions.create({ model: chatModel, messages: user, max_tokens: 8, n: 3, seed: 7 });
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const choice of completion.choices) expect(choice.message.content!.length).toBeGreaterThan(0);
    expect(new Set(completion.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
    expect(completion.usage!.completion_tokens).toBeGreaterThanOrEqual(3);

    const stream = await server.openai.chat.completions.create({ model: chatModel, messages: user, max_tokens: 8, n: 2, seed: 7, stream: true });
    const finished = new Set<number>();
    for await (const chunk of stream) for (const choice of chunk.choices) if (choice.finish_reason) finished.add(choice.index);
    expect([...finished].sort()).toEqual([0, 1]);
  });

  it("stops at a stop sequence without including it", async () => {
    const base = { model: chatModel, messages: user, max_tokens: 24, temperature: 0 };
    const full = (await server.openai.chat.completions.create(base)).choices[0].message.content!;
    const stop = full.slice(6, 9);
    const cut = full.indexOf(stop);
    const stopped = await server.openai.chat.completions.create({ ...base, stop: [stop, "@@never@@"] });
    expect(stopped.choices[0].message.content).toBe(full.slice(0, cut));
    expect(stopped.choices[0].finish_reason).toBe("stop");
  });

  it("produces json_schema output that parses and validates", async () => {
    const schema = {
      type: "object",
      properties: {
        city: { type: "string", maxLength: 12 },
        celsius: { type: "integer" },
        sunny: { type: "boolean" },
        wind: { type: "string", enum: ["calm", "breezy", "storm"] },
        tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 2 },
        note: { anyOf: [{ type: "string", maxLength: 8 }, { type: "null" }] },
      },
      required: ["city", "celsius", "sunny", "wind", "tags", "note"],
      additionalProperties: false,
    };
    const validate = new Ajv().compile(schema);
    for (const seed of [1, 2, 3]) {
      const completion = await server.openai.chat.completions.create({
        model: chatModel,
        messages: user,
        max_tokens: 300,
        seed,
        response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } },
      });
      expect(completion.choices[0].finish_reason).toBe("stop");
      const parsed = JSON.parse(completion.choices[0].message.content!);
      expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it("produces a JSON object for json_object", async () => {
    const completion = await server.openai.chat.completions.create({
      model: chatModel,
      messages: [{ role: "user", content: "Reply in JSON." }],
      max_tokens: 200,
      seed: 5,
      logit_bias: {},
      response_format: { type: "json_object" },
    });
    if (completion.choices[0].finish_reason === "stop") {
      const parsed = JSON.parse(completion.choices[0].message.content!);
      expect(typeof parsed).toBe("object");
      expect(Array.isArray(parsed)).toBe(false);
    } else {
      expect(completion.choices[0].message.content!.trimStart().startsWith("{")).toBe(true);
    }
  });

  it("returns logprobs with top alternatives", async () => {
    const completion = await server.openai.chat.completions.create({
      model: chatModel,
      messages: user,
      max_tokens: 6,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = completion.choices[0].logprobs!.content!;
    expect(content.length).toBe(completion.usage!.completion_tokens);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
      // Greedy decoding picks the most likely token.
      expect(entry.logprob).toBeCloseTo(entry.top_logprobs[0].logprob, 5);
      expect(Array.isArray(entry.bytes)).toBe(true);
    }
  });
});

describe("tool calls", () => {
  const tools = [
    {
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "Current weather for a city",
        parameters: {
          type: "object",
          properties: { city: { type: "string", maxLength: 10 }, unit: { type: "string", enum: ["c", "f"] } },
          required: ["city", "unit"],
          additionalProperties: false,
        },
      },
    },
    {
      type: "function" as const,
      function: {
        name: "get_time",
        description: "Current time in a zone",
        parameters: { type: "object", properties: { zone: { type: "string", enum: ["UTC", "CET"] } }, required: ["zone"] },
      },
    },
  ];
  const validateWeather = new Ajv().compile(tools[0].function.parameters);

  it("forces a named tool call, well formed", async () => {
    const completion = await server.openai.chat.completions.create({
      model: chatModel,
      messages: user,
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 80,
      seed: 3,
    });
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0];
    expect(call.type).toBe("function");
    expect(call.id).toMatch(/^call_/);
    if (call.type !== "function") throw new Error("unreachable");
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments);
    expect(validateWeather(args), JSON.stringify(validateWeather.errors)).toBe(true);
  });

  it("streams a forced tool call as OpenAI's deltas", async () => {
    const stream = await server.openai.chat.completions.create({
      model: chatModel,
      messages: user,
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 80,
      seed: 3,
      stream: true,
    });
    let id: string | undefined;
    let name: string | undefined;
    let args = "";
    let finish: string | null = null;
    let firstDelta = true;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        if (firstDelta) {
          expect(choice.delta.role).toBe("assistant");
          firstDelta = false;
        }
        for (const call of choice.delta.tool_calls ?? []) {
          expect(call.index).toBe(0);
          if (call.id) {
            expect(id).toBeUndefined();
            id = call.id;
            expect(call.type).toBe("function");
            name = call.function?.name;
          }
          args += call.function?.arguments ?? "";
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    expect(id).toMatch(/^call_/);
    expect(name).toBe("get_weather");
    expect(finish).toBe("tool_calls");
    expect(validateWeather(JSON.parse(args))).toBe(true);

    // The same seed without streaming gives the same call.
    const plain = await server.openai.chat.completions.create({
      model: chatModel,
      messages: user,
      tools,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_tokens: 80,
      seed: 3,
    });
    const call = plain.choices[0].message.tool_calls![0];
    if (call.type !== "function") throw new Error("unreachable");
    expect(call.function.arguments).toBe(args);
  });

  it("makes some tool call with tool_choice required", async () => {
    const completion = await server.openai.chat.completions.create({ model: chatModel, messages: user, tools, tool_choice: "required", max_tokens: 80, seed: 11 });
    const call = completion.choices[0].message.tool_calls![0];
    if (call.type !== "function") throw new Error("unreachable");
    expect(["get_weather", "get_time"]).toContain(call.function.name);
    expect(() => JSON.parse(call.function.arguments)).not.toThrow();
    expect(completion.choices[0].finish_reason).toBe("tool_calls");
  });

  it("never calls with tool_choice none, and accepts a conversation with tool results", async () => {
    const completion = await server.openai.chat.completions.create({
      model: chatModel,
      messages: [
        ...user,
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","unit":"c"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: '{"celsius": 21}' },
        { role: "user", content: [{ type: "text", text: "Thanks!" }] },
      ],
      tools,
      tool_choice: "none",
      max_tokens: 6,
    });
    expect(completion.choices[0].message.tool_calls).toBeUndefined();
    expect(typeof completion.choices[0].message.content).toBe("string");
  });

  it("accepts tools with tool_choice auto and answers with text or a well-formed call", async () => {
    const completion = await server.openai.chat.completions.create({ model: chatModel, messages: user, tools, max_tokens: 20, seed: 2 });
    const choice = completion.choices[0];
    if (choice.message.tool_calls) {
      expect(choice.finish_reason).toBe("tool_calls");
    } else {
      expect(typeof choice.message.content).toBe("string");
    }
  });
});
