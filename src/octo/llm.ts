/**
 * What Octo's arms call to reach a model. Three implementations: the local engine through the router
 * (llm/engine.ts, in-process, no HTTP hop), an OpenAI-compatible upstream (llm/upstream.ts), and a
 * scripted one for tests (llm/scripted.ts). Arms never see which one they talk to.
 */
import type { ChatMessage, JsonSchema, ToolCall, ToolDefinition } from "../engine/types.js";

export type { ChatMessage, JsonSchema, ToolCall, ToolDefinition };

export interface LlmRequest {
  /** Model id, alias or preset (engine), or the upstream's model name. */
  model: string;
  messages: ChatMessage[];
  /** Constrain the answer to JSON matching this schema (a grammar on the local engine). */
  schema?: { name: string; schema: JsonSchema };
  tools?: ToolDefinition[];
  /** `required` or a named tool forces a (well-formed) call. */
  toolChoice?: "auto" | "none" | "required" | { name: string };
  maxTokens: number;
  temperature?: number;
  seed?: number;
  stop?: string[];
  /** Ask for per-token log probabilities, to report a confidence (ignored under a grammar). */
  logprobs?: boolean;
  /** Scheduler priority on the local engine (higher first). */
  priority?: number;
  signal: AbortSignal;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface LlmResponse {
  text: string;
  toolCalls: ToolCall[];
  finishReason: "stop" | "length" | "tool_calls";
  usage: LlmUsage;
  /** The model that actually answered (an alias resolved to its model id). */
  model: string;
  /** exp(mean token log probability) in 0..1, when log probabilities were asked for and available. */
  confidence: number | null;
  durationMs: number;
}

export interface EmbedResponse {
  vectors: number[][];
  model: string;
  promptTokens: number;
}

export interface OctoLlm {
  chat(request: LlmRequest): Promise<LlmResponse>;
  embed(model: string, texts: string[], signal: AbortSignal): Promise<EmbedResponse>;
}

export const ZERO_USAGE: Readonly<LlmUsage> = Object.freeze({ promptTokens: 0, completionTokens: 0 });

export function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return { promptTokens: a.promptTokens + b.promptTokens, completionTokens: a.completionTokens + b.completionTokens };
}

export const totalTokens = (usage: LlmUsage): number => usage.promptTokens + usage.completionTokens;

/** Parses a schema-constrained answer; a truncated one (finish "length") is the usual reason it fails. */
export function parseJsonAnswer(response: LlmResponse): unknown {
  try {
    return JSON.parse(response.text);
  } catch {
    const why = response.finishReason === "length" ? "it was cut off at the token limit" : "it is not valid JSON";
    throw new Error(`The model's structured answer could not be used: ${why}.`);
  }
}
