/**
 * A scripted OctoLlm: answers come from a function of the request, optionally after a delay (which an
 * abort cuts short, as a real generation would stop). No available model is smart enough to plan or
 * judge, so orchestration is tested with this; the real engine is tested separately for structure.
 */
import { createHash } from "node:crypto";
import type { EmbedResponse, LlmRequest, LlmResponse, LlmUsage, OctoLlm } from "../llm.js";

export interface ScriptedAnswer {
  text?: string;
  /** Serialized as the answer's text (for schema-constrained calls). */
  json?: unknown;
  toolCalls?: LlmResponse["toolCalls"];
  finishReason?: LlmResponse["finishReason"];
  usage?: Partial<LlmUsage>;
  confidence?: number | null;
  model?: string;
  /** Wait this long before answering (an abort ends the wait with an AbortError). */
  delayMs?: number;
}

export type ScriptHandler = (request: LlmRequest, callIndex: number) => ScriptedAnswer | Error | Promise<ScriptedAnswer | Error>;

export interface ScriptedLlm extends OctoLlm {
  /** Every chat request, in arrival order. */
  readonly calls: LlmRequest[];
}

export function createScriptedLlm(handler: ScriptHandler, options: { embed?: (text: string) => number[] } = {}): ScriptedLlm {
  const calls: LlmRequest[] = [];
  const embedOne = options.embed ?? hashedEmbedding;
  return {
    calls,
    async chat(request) {
      const index = calls.push(request) - 1;
      const started = performance.now();
      request.signal.throwIfAborted();
      const answer = await handler(request, index);
      if (answer instanceof Error) throw answer;
      if (answer.delayMs) await sleep(answer.delayMs, request.signal);
      request.signal.throwIfAborted();
      const text = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.text ?? "");
      const promptChars = request.messages.reduce((sum, m) => sum + (m.content?.length ?? 0), 0);
      return {
        text,
        toolCalls: answer.toolCalls ?? [],
        finishReason: answer.finishReason ?? (answer.toolCalls?.length ? "tool_calls" : "stop"),
        usage: {
          promptTokens: answer.usage?.promptTokens ?? Math.ceil(promptChars / 4),
          completionTokens: answer.usage?.completionTokens ?? Math.max(1, Math.ceil(text.length / 4)),
        },
        model: answer.model ?? `scripted:${request.model}`,
        confidence: answer.confidence ?? null,
        durationMs: performance.now() - started,
      };
    },
    async embed(model, texts, signal): Promise<EmbedResponse> {
      signal.throwIfAborted();
      return { vectors: texts.map(embedOne), model: `scripted:${model}`, promptTokens: texts.reduce((s, t) => s + Math.ceil(t.length / 4), 0) };
    },
  };
}

/** A deterministic bag-of-words vector (64 dimensions): texts sharing words are similar. */
export function hashedEmbedding(text: string): number[] {
  const vector: number[] = Array.from({ length: 64 }, () => 0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const digest = createHash("sha1").update(word).digest();
    vector[digest[0] % 64] += digest[1] % 2 === 0 ? 1 : -1;
  }
  if (!vector.some((v) => v !== 0)) vector[0] = 1;
  return vector;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const abortError = () => new DOMException("The operation was aborted.", "AbortError");
