import type { LlamaContextSequence, Token } from "node-llama-cpp";

export interface Lease {
  sequence: LlamaContextSequence;
  /** The sequence's id in its context: sequences are created in order, so its index in the pool. */
  index: number;
  /** Prompt tokens already in the sequence's KV cache (not evaluated again). */
  cachedTokens: number;
  /** The prompt tokens still to evaluate. */
  input: Token[];
  release(): void;
}

/**
 * The context's sequences. A request takes the free sequence whose cached tokens share the longest
 * prefix with its prompt (prefix caching), so multi-turn chats and shared system prompts evaluate only
 * what is new. Among equally good ones it takes the lowest id: llama.cpp decodes the tokens of a batch
 * in one step only while their sequence ids are consecutive (see decode-batcher.ts), so the busy ones
 * are best kept together at the bottom. When every sequence is busy, requests wait here in arrival
 * order; the scheduler in the API process normally keeps that from happening.
 */
export class SequencePool {
  private readonly free: Array<{ sequence: LlamaContextSequence; index: number }>;
  private readonly waiters: Array<() => void> = [];
  readonly total: number;

  constructor(
    sequences: LlamaContextSequence[],
    private readonly prefixCache: boolean,
  ) {
    this.free = sequences.map((sequence, index) => ({ sequence, index }));
    this.total = sequences.length;
  }

  get busy(): number {
    return this.total - this.free.length;
  }

  async acquire(prompt: Token[], signal: AbortSignal): Promise<Lease> {
    while (this.free.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const at = this.waiters.indexOf(wake);
          if (at !== -1) this.waiters.splice(at, 1);
          reject(signal.reason ?? new Error("aborted"));
        };
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        this.waiters.push(wake);
      });
    }

    let best = 0;
    let bestShared = -1;
    for (let i = 0; i < this.free.length; i++) {
      const { sequence, index } = this.free[i];
      const shared = this.prefixCache ? sequence.compareContextTokens(prompt).firstDifferentIndex : 0;
      if (shared > bestShared || (shared === bestShared && index < this.free[best].index)) {
        best = i;
        bestShared = shared;
      }
    }
    const [taken] = this.free.splice(best, 1);
    const { sequence, index } = taken;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.free.push(taken);
      this.waiters.shift()?.();
    };

    try {
      // At least one prompt token is always evaluated: generation needs its logits.
      const reuse = Math.max(0, Math.min(bestShared, prompt.length - 1));
      if (sequence.nextTokenIndex > reuse) {
        if (reuse === 0) await sequence.clearHistory();
        else await sequence.eraseContextTokenRanges([{ start: reuse, end: sequence.nextTokenIndex }]);
      }
      return { sequence, index, cachedTokens: reuse, input: prompt.slice(reuse), release };
    } catch (err) {
      release();
      throw err;
    }
  }
}
