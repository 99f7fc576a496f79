import { z } from "zod";
import { isKeepAlive } from "../../../config/duration.js";
import { bodyAjv, bodyValidator, type BodyRules } from "../../body-validator.js";

/**
 * Request bodies of the OpenAI surface, field for field as OpenAI documents them, plus the llama.cpp
 * extensions people send (top_k, min_p, repeat_penalty). Unknown fields are ignored, as LM Studio
 * and llama.cpp's server do, so clients that send newer OpenAI fields keep working.
 */

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const contentPart = z.discriminatedUnion("type", [
  textPart,
  z.object({ type: z.literal("image_url"), image_url: z.unknown() }),
  z.object({ type: z.literal("input_audio"), input_audio: z.unknown() }),
  z.object({ type: z.literal("file"), file: z.unknown() }),
  z.object({ type: z.literal("refusal"), refusal: z.string() }),
]);
const content = z.union([z.string(), z.array(contentPart)]);

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

export const chatMessageSchema = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content, name: z.string().optional() }),
  z.object({ role: z.literal("developer"), content, name: z.string().optional() }),
  z.object({ role: z.literal("user"), content, name: z.string().optional() }),
  z.object({
    role: z.literal("assistant"),
    content: nullable(content),
    name: z.string().optional(),
    refusal: nullable(z.string()),
    tool_calls: z.array(toolCall).optional(),
  }),
  z.object({ role: z.literal("tool"), content, tool_call_id: z.string().min(1) }),
]);
export type ChatMessageBody = z.infer<typeof chatMessageSchema>;

const functionName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1-64 characters of a-z, A-Z, 0-9, _ and -");

const jsonSchemaObject = z.record(z.string(), z.unknown());

const tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: functionName,
    description: z.string().optional(),
    parameters: jsonSchemaObject.optional(),
    strict: nullable(z.boolean()),
  }),
});

const stop = nullable(z.union([z.string(), z.array(z.string()).max(16)]));

/** Ollama's keep_alive: how long the model stays loaded after this request. */
const keepAlive = z
  .union([z.string(), z.number()])
  .refine(isKeepAlive, "expected a duration such as 30s, 5m, 1h, a number of seconds, 0, or -1")
  .optional();

/** Sampling fields shared by chat and completions. */
const sampling = {
  keep_alive: keepAlive,
  temperature: nullable(z.number().min(0).max(2)),
  top_p: nullable(z.number().min(0).max(1)),
  top_k: nullable(z.number().int().min(0)),
  min_p: nullable(z.number().min(0).max(1)),
  repeat_penalty: nullable(z.number().min(0)),
  repeat_last_n: nullable(z.number().int().min(0).max(4096)),
  frequency_penalty: nullable(z.number().min(-2).max(2)),
  presence_penalty: nullable(z.number().min(-2).max(2)),
  seed: nullable(z.number().int()),
  logit_bias: nullable(z.record(z.string().regex(/^\d+$/, "keys must be token ids"), z.number().min(-100).max(100))),
  stop,
  n: nullable(z.number().int().min(1).max(128)),
  stream: nullable(z.boolean()),
  stream_options: nullable(z.object({ include_usage: z.boolean().optional() })),
  user: z.string().optional(),
};

export const chatCompletionSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(chatMessageSchema).min(1),
    max_tokens: nullable(z.number().int().min(1)),
    max_completion_tokens: nullable(z.number().int().min(1)),
    logprobs: nullable(z.boolean()),
    top_logprobs: nullable(z.number().int().min(0).max(20)),
    response_format: z
      .discriminatedUnion("type", [
        z.object({ type: z.literal("text") }),
        z.object({ type: z.literal("json_object") }),
        z.object({
          type: z.literal("json_schema"),
          json_schema: z.object({
            name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1-64 characters of a-z, A-Z, 0-9, _ and -"),
            description: z.string().optional(),
            schema: jsonSchemaObject.optional(),
            strict: nullable(z.boolean()),
          }),
        }),
      ])
      .optional(),
    tools: z.array(tool).max(128).optional(),
    tool_choice: z
      .union([
        z.enum(["none", "auto", "required"]),
        z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) }),
      ])
      .optional(),
    parallel_tool_calls: z.boolean().optional(),
    ...sampling,
  });
export type ChatCompletionBody = z.infer<typeof chatCompletionSchema>;

/** What a chat completion's fields must agree on, as OpenAI checks it. */
export const chatCompletionRules: BodyRules<ChatCompletionBody> = (body) => {
  if (body.top_logprobs != null && !body.logprobs) {
    return { path: ["top_logprobs"], message: "'top_logprobs' requires 'logprobs' to be true" };
  }
  if (body.tool_choice !== undefined && body.tool_choice !== "none" && !body.tools?.length) {
    return { path: ["tool_choice"], message: "'tool_choice' is only allowed when 'tools' are specified" };
  }
  if (typeof body.tool_choice === "object" && body.tools) {
    const name = body.tool_choice.function.name;
    if (!body.tools.some((t) => t.function.name === name)) return { path: ["tool_choice"], message: `no tool named '${name}' in 'tools'` };
  }
  const names = new Set<string>();
  for (const [i, t] of (body.tools ?? []).entries()) {
    if (names.has(t.function.name)) return { path: ["tools", i, "function", "name"], message: `duplicate tool name '${t.function.name}'` };
    names.add(t.function.name);
  }
  return null;
};
const tokenArray = z.array(z.number().int().min(0));

export const completionSchema = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenArray.min(1), z.array(tokenArray.min(1)).min(1)]),
  suffix: nullable(z.string()),
  echo: nullable(z.boolean()),
  max_tokens: nullable(z.number().int().min(0)),
  logprobs: nullable(z.number().int().min(0).max(5)),
  best_of: nullable(z.number().int().min(1).max(1)),
  ...sampling,
});
export type CompletionBody = z.infer<typeof completionSchema>;

export const embeddingSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1), tokenArray.min(1), z.array(tokenArray.min(1)).min(1)]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().min(1).optional(),
  user: z.string().optional(),
  keep_alive: keepAlive,
});
export type EmbeddingBody = z.infer<typeof embeddingSchema>;

/** The validators of the OpenAI surface's bodies, compiled once per server (HTTP and WebSocket share them). */
export function v1BodyParsers() {
  const ajv = bodyAjv();
  return {
    chat: bodyValidator(chatCompletionSchema, chatCompletionRules, ajv),
    completion: bodyValidator(completionSchema, undefined, ajv),
    embedding: bodyValidator(embeddingSchema, undefined, ajv),
  };
}
export type V1BodyParsers = ReturnType<typeof v1BodyParsers>;
