import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

const model = "stories260K";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    models: ["stories260K"],
    config: { body_limit: 64 * 1024, model_defaults: { context_size: 256 } },
  });
});
afterAll(async () => {
  await server?.stop();
});

async function expectError(response: Response, status: number, expected: { code?: string | null; param?: string | null; type?: string }) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message).not.toMatch(/\bat .*\.(ts|js):\d+/); // never a stack trace
  if (expected.code !== undefined) expect(body.error.code).toBe(expected.code);
  if (expected.param !== undefined) expect(body.error.param).toBe(expected.param);
  if (expected.type !== undefined) expect(body.error.type).toBe(expected.type);
  return body.error;
}

const chat = (extra: Record<string, unknown>) => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 2, ...extra });

describe("bad input gets OpenAI's error envelope and the server stays up", () => {
  it("malformed JSON → 400", async () => {
    await expectError(await server.post("/v1/chat/completions", "{not json"), 400, { code: "invalid_json", type: "invalid_request_error" });
    await expectError(await server.post("/v1/chat/completions", "[1,2]"), 400, { type: "invalid_request_error" });
    await expectError(await server.post("/v1/chat/completions", ""), 400, { type: "invalid_request_error" });
  });

  it("schema violations → 400 naming the field", async () => {
    await expectError(await server.post("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }), 400, { param: "model", code: "missing_required_parameter" });
    await expectError(await server.post("/v1/chat/completions", { model }), 400, { param: "messages" });
    await expectError(await server.post("/v1/chat/completions", chat({ messages: [{ role: "wizard", content: "x" }] })), 400, { param: "messages[0].role" });
    await expectError(await server.post("/v1/chat/completions", chat({ messages: [{ role: "user", content: 42 }] })), 400, { param: "messages[0].content" });
    await expectError(await server.post("/v1/chat/completions", chat({ temperature: 5 })), 400, { param: "temperature" });
    await expectError(await server.post("/v1/chat/completions", chat({ max_tokens: -1 })), 400, { param: "max_tokens" });
    await expectError(await server.post("/v1/chat/completions", chat({ n: 0 })), 400, { param: "n" });
    await expectError(await server.post("/v1/chat/completions", chat({ stop: 7 })), 400, { param: "stop" });
    await expectError(await server.post("/v1/chat/completions", chat({ top_logprobs: 2 })), 400, { param: "top_logprobs" });
    await expectError(await server.post("/v1/chat/completions", chat({ tool_choice: "required" })), 400, { param: "tool_choice" });
    await expectError(await server.post("/v1/chat/completions", chat({ response_format: { type: "xml" } })), 400, { param: "response_format.type" });
    await expectError(
      await server.post("/v1/chat/completions", chat({ tools: [{ type: "function", function: { name: "bad name!" } }] })),
      400,
      { param: "tools[0].function.name" },
    );
    await expectError(
      await server.post("/v1/chat/completions", chat({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x" } }] }] })),
      400,
      { param: "messages[0].content[0].type" },
    );
    await expectError(
      await server.post("/v1/chat/completions", chat({ messages: [{ role: "tool", tool_call_id: "nope", content: "x" }] })),
      400,
      { param: "messages[0].tool_call_id" },
    );
    await expectError(
      await server.post(
        "/v1/chat/completions",
        chat({ response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "wat" } } } } } }),
      ),
      400,
      { param: "response_format.json_schema.schema" },
    );
    await expectError(await server.post("/v1/completions", { model, prompt: 42 }), 400, { param: "prompt" });
    await expectError(await server.post("/v1/embeddings", { model, input: [] }), 400, { param: "input" });
    await expectError(await server.post("/v1/embeddings", { model, input: "x", encoding_format: "int8" }), 400, { param: "encoding_format" });
  });

  it("unknown model → 404 model_not_found", async () => {
    await expectError(await server.post("/v1/chat/completions", chat({ model: "no-such-model" })), 404, { code: "model_not_found", param: "model" });
    await expectError(await server.post("/v1/embeddings", { model: "no-such-model", input: "x" }), 404, { code: "model_not_found" });
  });

  it("prompt longer than the context → 400 context_length_exceeded", async () => {
    const long = "word ".repeat(400);
    await expectError(await server.post("/v1/chat/completions", chat({ messages: [{ role: "user", content: long }] })), 400, {
      code: "context_length_exceeded",
      param: "messages",
    });
    await expectError(await server.post("/v1/completions", { model, prompt: long }), 400, { code: "context_length_exceeded", param: "prompt" });
    await expectError(await server.post("/v1/embeddings", { model, input: long }), 400, { code: "context_length_exceeded" });
  });

  it("oversize body → 413", async () => {
    const huge = chat({ messages: [{ role: "user", content: "x".repeat(100 * 1024) }] });
    await expectError(await server.post("/v1/chat/completions", huge), 413, { code: "request_too_large" });
  });

  it("unknown routes → 404 in the same envelope", async () => {
    await expectError(await server.get("/v1/nothing-here"), 404, { code: "unknown_url" });
  });

  it("a client that sends garbage over a raw socket does not hurt the server", async () => {
    const net = await import("node:net");
    const { port } = new URL(server.url);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => {
        socket.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nContent-Type: application/json\r\n\r\n{\"model\":");
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });
  });

  it("is still healthy and serving after all of the above", async () => {
    expect((await server.get("/healthz")).status).toBe(200);
    const completion = await server.openai.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 3 });
    expect(completion.choices[0].message.content).toBeTypeOf("string");
  });
});
