import { randomUUID } from "node:crypto";
import type { FinishReason, GenerateEvent, TokenLogprob, Usage } from "../../../engine/types.js";

/** Engine events → OpenAI's response objects and stream chunks, exactly as OpenAI shapes them. */

export const systemFingerprint = "fp_lmx";

/**
 * 24 hex digits of a random UUID: 90 random bits (one digit is the version, two bits the variant).
 * Node hands out UUIDs from a cache it refills 128 at a time, while a call of our own into the
 * system's generator (randomBytes) costs 9-15 µs here, on every request, before the model sees it.
 */
export function responseId(prefix: "chatcmpl" | "cmpl"): string {
  return `${prefix}-${randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

export function usageBody(usage: Usage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

interface ChoiceState {
  content: string;
  toolCalls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }>;
  logprobs: TokenLogprob[] | null;
  finishReason: FinishReason | null;
}

/** Collects a chat completion's events into the non-streamed `chat.completion` object. */
export class ChatCompletionBuilder {
  private readonly choices: ChoiceState[] = [];

  constructor(
    private readonly n: number,
    private readonly wantLogprobs: boolean,
  ) {
    for (let i = 0; i < n; i++) this.choices.push({ content: "", toolCalls: [], logprobs: wantLogprobs ? [] : null, finishReason: null });
  }

  add(events: readonly GenerateEvent[]): void {
    for (const event of events) {
      const choice = this.choices[event.choice];
      switch (event.type) {
        case "text":
          choice.content += event.text;
          if (event.logprobs && choice.logprobs) choice.logprobs.push(...event.logprobs);
          break;
        case "tool_call_start":
          choice.toolCalls[event.index] = { id: event.id, type: "function", function: { name: event.name, arguments: "" } };
          break;
        case "tool_call_args":
          choice.toolCalls[event.index].function.arguments += event.text;
          break;
        case "finish":
          choice.finishReason = event.reason;
          break;
      }
    }
  }

  build(id: string, model: string, created: number, usage: Usage) {
    return {
      id,
      object: "chat.completion" as const,
      created,
      model,
      system_fingerprint: systemFingerprint,
      choices: this.choices.map((choice, index) => ({
        index,
        message: {
          role: "assistant" as const,
          content: choice.toolCalls.length > 0 && choice.content === "" ? null : choice.content,
          refusal: null,
          ...(choice.toolCalls.length > 0 ? { tool_calls: choice.toolCalls } : {}),
        },
        logprobs: choice.logprobs ? { content: choice.logprobs, refusal: null } : null,
        finish_reason: choice.finishReason ?? "stop",
      })),
      usage: usageBody(usage),
    };
  }
}

/**
 * What every streamed frame of one response carries (id, object, created, model, fingerprint), the
 * final usage frame, and `usage: null` on the others when the client asked for usage, as OpenAI does.
 */
abstract class ChunkWriter {
  constructor(
    private readonly object: "chat.completion.chunk" | "text_completion",
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
    private readonly includeUsage: boolean,
  ) {}

  usageChunk(usage: Usage): unknown {
    return { ...this.head(), choices: [], usage: usageBody(usage) };
  }

  protected frame(choice: Record<string, unknown>) {
    return { ...this.head(), choices: [choice], ...(this.includeUsage ? { usage: null } : {}) };
  }

  private head() {
    return { id: this.id, object: this.object, created: this.created, model: this.model, system_fingerprint: systemFingerprint };
  }
}

/** Turns a chat completion's events into `chat.completion.chunk` frames. */
export class ChatChunkWriter extends ChunkWriter {
  private readonly started = new Set<number>();

  constructor(id: string, model: string, created: number, includeUsage: boolean) {
    super("chat.completion.chunk", id, model, created, includeUsage);
  }

  chunks(events: readonly GenerateEvent[]): unknown[] {
    const frames: unknown[] = [];
    for (const event of events) {
      const first = !this.started.has(event.choice);
      this.started.add(event.choice);
      const role = first ? { role: "assistant" as const } : {};
      switch (event.type) {
        case "text":
          frames.push(this.chunk(event.choice, { ...role, content: event.text }, event.logprobs ? { content: event.logprobs, refusal: null } : null, null));
          break;
        case "tool_call_start":
          frames.push(
            this.chunk(
              event.choice,
              {
                ...role,
                ...(first ? { content: null } : {}),
                tool_calls: [{ index: event.index, id: event.id, type: "function", function: { name: event.name, arguments: "" } }],
              },
              null,
              null,
            ),
          );
          break;
        case "tool_call_args":
          frames.push(this.chunk(event.choice, { tool_calls: [{ index: event.index, function: { arguments: event.text } }] }, null, null));
          break;
        case "finish":
          if (first) frames.push(this.chunk(event.choice, { role: "assistant", content: "" }, null, null));
          frames.push(this.chunk(event.choice, {}, null, event.reason));
          break;
      }
    }
    return frames;
  }

  private chunk(index: number, delta: Record<string, unknown>, logprobs: unknown, finishReason: FinishReason | null) {
    return this.frame({ index, delta, logprobs, finish_reason: finishReason });
  }
}

/** Legacy completions: the `logprobs` object has parallel arrays instead of per-token objects. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Array<Record<string, number>>;
  text_offset: number[];
}

export function completionLogprobs(logprobs: readonly TokenLogprob[], offset: number): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  for (const entry of logprobs) {
    out.tokens.push(entry.token);
    out.token_logprobs.push(entry.logprob);
    out.top_logprobs.push(Object.fromEntries(entry.top_logprobs.map((top) => [top.token, top.logprob])));
    out.text_offset.push(at);
    at += entry.token.length;
  }
  return out;
}

/** Collects events of one or more prompts into a `text_completion` object. */
export class CompletionBuilder {
  private readonly choices = new Map<number, { text: string; logprobs: TokenLogprob[] | null; finishReason: FinishReason | null }>();

  constructor(private readonly wantLogprobs: boolean) {}

  add(events: readonly GenerateEvent[], indexOffset: number): void {
    for (const event of events) {
      const index = indexOffset + event.choice;
      let choice = this.choices.get(index);
      if (!choice) {
        choice = { text: "", logprobs: this.wantLogprobs ? [] : null, finishReason: null };
        this.choices.set(index, choice);
      }
      if (event.type === "text") {
        choice.text += event.text;
        if (event.logprobs && choice.logprobs) choice.logprobs.push(...event.logprobs);
      } else if (event.type === "finish") {
        choice.finishReason = event.reason;
      }
    }
  }

  build(id: string, model: string, created: number, usage: Usage) {
    return {
      id,
      object: "text_completion" as const,
      created,
      model,
      system_fingerprint: systemFingerprint,
      choices: [...this.choices.entries()]
        .sort(([a], [b]) => a - b)
        .map(([index, choice]) => ({
          text: choice.text,
          index,
          logprobs: choice.logprobs ? completionLogprobs(choice.logprobs, 0) : null,
          finish_reason: choice.finishReason ?? "stop",
        })),
      usage: usageBody(usage),
    };
  }
}

export class CompletionChunkWriter extends ChunkWriter {
  private readonly offsets = new Map<number, number>();

  constructor(id: string, model: string, created: number, includeUsage: boolean) {
    super("text_completion", id, model, created, includeUsage);
  }

  chunks(events: readonly GenerateEvent[], indexOffset: number): unknown[] {
    const frames: unknown[] = [];
    for (const event of events) {
      const index = indexOffset + event.choice;
      if (event.type === "text") {
        const offset = this.offsets.get(index) ?? 0;
        this.offsets.set(index, offset + event.text.length);
        frames.push(this.chunk(index, event.text, event.logprobs ? completionLogprobs(event.logprobs, offset) : null, null));
      } else if (event.type === "finish") {
        frames.push(this.chunk(index, "", null, event.reason));
      }
    }
    return frames;
  }

  private chunk(index: number, text: string, logprobs: CompletionLogprobs | null, finishReason: FinishReason | null) {
    return this.frame({ text, index, logprobs, finish_reason: finishReason });
  }
}
