import type { Llama } from "node-llama-cpp";

export interface ThreadTunerOptions {
  /** Recent batches at the current count that make its "usual" time. */
  window: number;
  /** Batches run at the other count before deciding. */
  probeBatches: number;
  /** Batches between probes of a direction to begin with; doubles each time that direction loses. */
  interval: number;
  /**
   * The longest wait before probing down again. Long: on an idle machine fewer threads always lose,
   * and a collapse makes the usual time jump, which starts probing over anyway.
   */
  maxIntervalDown: number;
  /**
   * The longest wait before probing up again. Short: a core left unused costs every batch, while a
   * probe up on a busy machine costs one slow batch (it is cut off at three times the usual time).
   */
  maxIntervalUp: number;
  /** Never probe more often than this (ms). */
  minSpacingMs: number;
  /** A probe with one thread more must be this much faster (fraction) to be adopted. */
  marginUp: number;
  /**
   * A probe with one thread fewer must be this much faster. Larger: what stepping down protects from
   * is a collapse (several times slower), while batch times wander by 10-30% with the machine's load,
   * and a step down taken on noise costs a core until the next probe up.
   */
  marginDown: number;
  /** The usual time moving by this factor means the machine changed: probe again soon. */
  shift: number;
}

const defaults: ThreadTunerOptions = {
  window: 12,
  probeBatches: 6,
  interval: 48,
  maxIntervalDown: 1536,
  maxIntervalUp: 192,
  minSpacingMs: 300,
  marginUp: 0.05,
  marginDown: 0.25,
  shift: 1.5,
};

/**
 * Picks the engine's thread count by measuring it. llama.cpp's threads spin-wait for each other at
 * every step of a decode (hundreds per token); when one is preempted, the others spin until it runs
 * again. On an idle machine every core helps, but once other processes keep the cores busy, decoding
 * on all of them slows to a crawl (58M model, 2 vCPUs, two busy processes beside it: under 5 tokens/s
 * with 2 threads, 20-45 with 1). How busy is too busy depends on the build (OpenMP threads sleep after
 * spinning a while, node-llama-cpp's prebuilt thread pool never does) and on the model, so rather
 * than guess from the load, the tuner times decode batches: now and then it runs a few batches with
 * one thread more or fewer and keeps whichever decodes faster. The configured count is the ceiling.
 *
 * A probe is cut short as soon as it has taken too long to win, and a direction that lost is tried
 * again only after twice as long each time, so on a machine that stays busy (or stays idle) probing
 * costs little; when the usual batch time moves a lot, the machine has changed and probing starts over.
 */
export class ThreadTuner {
  private current: number;
  /** Durations (ms) of recent batches at the current count, all of width `width`. */
  private steady: number[] = [];
  private width = 0;
  /** The usual batch time when the count was last decided. */
  private reference: number | null = null;
  private probe: { threads: number; samples: number[] } | null = null;
  private batchesSinceProbe = 0;
  private lastProbeAt = -Infinity;
  private readonly waitBatches: { up: number; down: number };
  private nextDirection: "up" | "down" = "down";
  private readonly o: ThreadTunerOptions;

  constructor(
    private readonly llama: Llama,
    private readonly max: number,
    private readonly onChange: (threads: number, reason: string) => void = () => {},
    options: Partial<ThreadTunerOptions> = {},
  ) {
    this.o = { ...defaults, ...options };
    this.current = Math.max(1, max);
    // The first probe comes as soon as there is a usual time to compare with: a model may well start
    // on a machine that is already busy.
    this.waitBatches = { up: 0, down: 0 };
  }

  get threads(): number {
    return this.probe?.threads ?? this.current;
  }

  /**
   * A decode batch of `width` generated tokens (one per sequence) took `ms`, from being released to
   * its last token being sampled. Batches carrying prompt tokens are not reported.
   */
  observe(width: number, ms: number): void {
    if (this.max <= 1) return;
    if (this.probe) return this.observeProbe(width, ms);
    if (width !== this.width) {
      // Batches of another width take another time: start over.
      this.width = width;
      this.steady = [];
      this.reference = null;
    }
    this.steady.push(ms);
    if (this.steady.length > this.o.window) this.steady.shift();
    this.batchesSinceProbe++;
    if (this.steady.length < this.o.window / 2) return;
    const usual = median(this.steady);
    if (this.reference === null) {
      this.reference = usual;
    } else if (usual > this.reference * this.o.shift || usual * this.o.shift < this.reference) {
      this.reference = usual;
      this.waitBatches.up = this.waitBatches.down = 0;
    }
    this.maybeProbe();
  }

  private maybeProbe(): void {
    if (performance.now() - this.lastProbeAt < this.o.minSpacingMs) return;
    let direction = this.nextDirection;
    if (direction === "up" && this.current >= this.max) direction = "down";
    if (direction === "down" && this.current <= 1) direction = "up";
    if (this.batchesSinceProbe < this.waitBatches[direction]) return;
    this.probe = { threads: this.current + (direction === "up" ? 1 : -1), samples: [] };
    this.set(this.probe.threads);
  }

  private observeProbe(width: number, ms: number): void {
    const probe = this.probe!;
    if (width !== this.width) return this.endProbe(false);
    probe.samples.push(ms);
    // Throughput is what counts, so means are compared: on a busy machine a thread count can be fast
    // most of the time and stall now and then, and both show in the mean.
    const usual = mean(this.steady);
    const margin = probe.threads < this.current ? this.o.marginDown : this.o.marginUp;
    const budget = usual * this.o.probeBatches * (1 - margin);
    const spent = probe.samples.reduce((sum, value) => sum + value, 0);
    // Already too slow to win, however quick the rest: stop paying for it.
    if (spent >= budget) return this.endProbe(false);
    if (probe.samples.length < this.o.probeBatches) return;
    this.endProbe(true, `${(spent / probe.samples.length).toFixed(1)} ms per batch of ${width} against ${usual.toFixed(1)}`);
  }

  private endProbe(adopt: boolean, reason = ""): void {
    const probe = this.probe!;
    const direction = probe.threads > this.current ? "up" : "down";
    this.probe = null;
    this.batchesSinceProbe = 0;
    this.lastProbeAt = performance.now();
    if (adopt) {
      this.current = probe.threads;
      this.steady = probe.samples.slice(-this.o.window);
      this.reference = median(this.steady);
      this.waitBatches.up = this.waitBatches.down = this.o.interval;
      this.nextDirection = direction; // one more step the same way may help too
      this.onChange(this.current, reason);
    } else {
      const longest = direction === "up" ? this.o.maxIntervalUp : this.o.maxIntervalDown;
      this.waitBatches[direction] = Math.min(Math.max(this.o.interval, this.waitBatches[direction] * 2), longest);
      this.nextDirection = direction === "up" ? "down" : "up";
      this.set(this.current);
    }
  }

  private set(threads: number): void {
    // node-llama-cpp's thread splitter applies this to every decode batch it dispatches from now on.
    this.llama.maxThreads = threads;
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}
