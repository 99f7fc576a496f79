import type { LlamaModel, Token } from "node-llama-cpp";

/**
 * Turns generated tokens into text as they arrive. A token can end in the middle of a UTF-8
 * character (byte-fallback vocabularies); such tokens are held until the character completes,
 * so no chunk ever carries a replacement character that the full text would not.
 */
export class IncrementalDetokenizer {
  private pending: Token[] = [];
  /** Recent tokens, given to the tokenizer as context (SentencePiece's leading-space rules). */
  private context: Token[];

  constructor(
    private readonly model: LlamaModel,
    contextTokens: readonly Token[] = [],
  ) {
    this.context = contextTokens.slice(-8);
  }

  push(token: Token): string {
    this.pending.push(token);
    const text = this.model.detokenize(this.pending, false, this.context);
    if (text.endsWith("\uFFFD") && this.pending.length < 4) return "";
    this.context = [...this.context, ...this.pending].slice(-8);
    this.pending = [];
    return text;
  }

  /** Whatever is held at the end of generation. */
  flush(): string {
    if (this.pending.length === 0) return "";
    const text = this.model.detokenize(this.pending, false, this.context);
    this.pending = [];
    return text;
  }
}

export interface StopMatch {
  /** Text safe to emit now. */
  emit: string;
  /** The stop string found, if any; `emit` then ends just before it. */
  matched: string | null;
  /** Text that followed the stop string in the same push. */
  after: string;
}

/**
 * Finds stop strings in streamed text. Text that could still become a stop string is held back
 * until it either completes one (and is dropped) or cannot (and is released).
 */
export class StopStringMatcher {
  private held = "";
  private readonly maxLength: number;

  constructor(private readonly stops: readonly string[]) {
    this.maxLength = stops.reduce((max, stop) => Math.max(max, stop.length), 0);
  }

  push(text: string): StopMatch {
    if (this.stops.length === 0) return { emit: text, matched: null, after: "" };
    const buffer = this.held + text;
    let first = -1;
    let matched: string | null = null;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) {
        first = at;
        matched = stop;
      }
    }
    if (matched !== null) {
      this.held = "";
      return { emit: buffer.slice(0, first), matched, after: buffer.slice(first + matched.length) };
    }
    const keep = this.partialSuffixLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), matched: null, after: "" };
  }

  flush(): string {
    const rest = this.held;
    this.held = "";
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private partialSuffixLength(buffer: string): number {
    const longest = Math.min(this.maxLength - 1, buffer.length);
    for (let length = longest; length > 0; length--) {
      const suffix = buffer.slice(buffer.length - length);
      if (this.stops.some((stop) => stop.startsWith(suffix))) return length;
    }
    return 0;
  }
}
