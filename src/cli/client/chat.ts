/**
 * Streaming chat over the OpenAI API (POST /v1/chat/completions, `stream: true`) with fetch and our
 * SSE reader: the `openai` package is only a devDependency, and a chat stream is a few lines of JSON.
 */
import { isAbortError } from "../../errors.js";
import { ApiError } from "../errors.js";
import type { LmxClient } from "./lmx-client.js";
import { readSseEvents } from "./sse.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** Request fields beyond model and messages, in the API's own names (temperature, top_p, max_tokens…). */
export type ChatParameters = Record<string, string | number | boolean | undefined>;

export interface ChatAnswer {
  text: string;
  /** null when interrupted. */
  finishReason: string | null;
  /** Stopped by the signal: `text` is what had arrived. */
  interrupted: boolean;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  /** From sending to the first text, and to the end. */
  firstTextMs: number | null;
  totalMs: number;
}

interface ChatChunk {
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  error?: { message?: string; code?: string | null };
}

/** Sends the conversation and calls `onText` with each piece of the answer as it arrives. */
export async function streamChat(
  client: LmxClient,
  request: { model: string; messages: readonly ChatMessage[]; parameters?: ChatParameters },
  onText: (text: string) => void,
  signal?: AbortSignal,
): Promise<ChatAnswer> {
  const started = performance.now();
  const answer: ChatAnswer = { text: "", finishReason: null, interrupted: false, usage: null, firstTextMs: null, totalMs: 0 };
  const done = () => ({ ...answer, totalMs: performance.now() - started });
  try {
    const response = await client.open("POST", "/v1/chat/completions", {
      body: { ...request.parameters, model: request.model, messages: request.messages, stream: true, stream_options: { include_usage: true } },
      signal,
    });
    if (!response.body) return done();
    for await (const event of readSseEvents(response.body, signal)) {
      if (event.data === "[DONE]") break;
      const chunk = JSON.parse(event.data) as ChatChunk;
      // After the first frame the server reports errors in the stream, as OpenAI does.
      if (chunk.error) throw new ApiError(chunk.error.message ?? "the server failed while answering", 500, chunk.error.code ?? null);
      if (chunk.usage) answer.usage = chunk.usage;
      for (const choice of chunk.choices ?? []) {
        const text = choice.delta?.content;
        if (text) {
          answer.firstTextMs ??= performance.now() - started;
          answer.text += text;
          onText(text);
        }
        if (choice.finish_reason) answer.finishReason = choice.finish_reason;
      }
    }
    if (signal?.aborted) answer.interrupted = true;
    return done();
  } catch (err) {
    if (signal?.aborted || isAbortError(err)) {
      answer.interrupted = true;
      return done();
    }
    throw err;
  }
}
