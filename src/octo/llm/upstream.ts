/**
 * OctoLlm on an OpenAI-compatible server (another LMX, llama.cpp's server, vLLM, a hosted API), for
 * arms configured with `upstream:`. What is sent there leaves this machine, so the orchestrator wraps
 * this client in the guardian's egress check (see guardedLlm in arms/guardian.ts).
 */
import { LmxError } from "../../errors.js";
import type { ChatMessage } from "../../engine/types.js";
import type { EmbedResponse, LlmRequest, LlmResponse, OctoLlm } from "../llm.js";

export interface UpstreamOptions {
  /** Base URL ending before /chat/completions, e.g. http://127.0.0.1:8080/v1. */
  url: string;
  apiKey: string | null;
  timeoutMs: number;
  fetch?: typeof fetch;
}

interface OpenAiChatResponse {
  model?: string;
  choices?: Array<{
    finish_reason?: string | null;
    message?: { content?: string | null; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> };
    logprobs?: { content?: Array<{ logprob: number }> | null } | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

export function createUpstreamLlm(options: UpstreamOptions): OctoLlm {
  const base = options.url.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;

  async function post<T>(path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw upstreamError(`could not reach ${base}: ${(err as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        // not JSON: keep the text
      }
      throw upstreamError(`${base}${path} answered ${response.status}: ${message}`, response.status === 429 ? 429 : 502);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw upstreamError(`${base}${path} answered with something that is not JSON`);
    }
  }

  return {
    async chat(request: LlmRequest): Promise<LlmResponse> {
      const started = performance.now();
      const body: Record<string, unknown> = {
        model: request.model,
        messages: request.messages.map(toOpenAiMessage),
        max_tokens: request.maxTokens,
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
        ...(request.stop?.length ? { stop: request.stop } : {}),
        ...(request.logprobs && !request.schema ? { logprobs: true } : {}),
      };
      if (request.schema) {
        body.response_format = { type: "json_schema", json_schema: { name: request.schema.name, schema: request.schema.schema, strict: true } };
      }
      if (request.tools?.length) {
        body.tools = request.tools.map((tool) => ({ type: "function", function: tool }));
        const choice = request.toolChoice ?? "auto";
        body.tool_choice = typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } };
      }
      const answer = await post<OpenAiChatResponse>("/chat/completions", body, request.signal);
      const choice = answer.choices?.[0];
      if (!choice?.message) throw upstreamError(`${base} returned no choice`);
      const logprobs = choice.logprobs?.content ?? [];
      const finish = choice.finish_reason;
      return {
        text: choice.message.content ?? "",
        toolCalls: (choice.message.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments })),
        finishReason: finish === "length" ? "length" : finish === "tool_calls" ? "tool_calls" : "stop",
        usage: { promptTokens: answer.usage?.prompt_tokens ?? 0, completionTokens: answer.usage?.completion_tokens ?? 0 },
        model: answer.model ?? request.model,
        confidence: logprobs.length > 0 ? Math.exp(logprobs.reduce((sum, t) => sum + t.logprob, 0) / logprobs.length) : null,
        durationMs: performance.now() - started,
      };
    },

    async embed(model, texts, signal): Promise<EmbedResponse> {
      const answer = await post<{ model?: string; data?: Array<{ index: number; embedding: number[] }>; usage?: { prompt_tokens?: number } }>(
        "/embeddings",
        { model, input: texts },
        signal,
      );
      const data = [...(answer.data ?? [])].sort((a, b) => a.index - b.index);
      if (data.length !== texts.length) throw upstreamError(`${base} returned ${data.length} embeddings for ${texts.length} texts`);
      return { vectors: data.map((d) => d.embedding), model: answer.model ?? model, promptTokens: answer.usage?.prompt_tokens ?? 0 };
    },
  };
}

function toOpenAiMessage(message: ChatMessage): Record<string, unknown> {
  switch (message.role) {
    case "assistant":
      return {
        role: "assistant",
        content: message.content,
        ...(message.toolCalls?.length
          ? { tool_calls: message.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
    case "tool":
      return { role: "tool", content: message.content, tool_call_id: message.toolCallId };
    default:
      return { role: message.role, content: message.content };
  }
}

const upstreamError = (message: string, status = 502) =>
  new LmxError(`Upstream model error: ${message}`, { status, type: status === 429 ? "rate_limit_error" : "server_error", code: "upstream_error" });
