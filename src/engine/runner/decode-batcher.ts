/**
 * Gathers the decode steps of a context's generating sequences into shared batches.
 *
 * One decode step for four sequences' tokens costs far less than four single-token steps, since it
 * reads every weight once (58M model: 1.5× one token). Two things kept node-llama-cpp's batches from
 * getting that:
 * - It dispatches whatever is queued at the time, and each sequence samples its token on its own
 *   libuv thread, so by the time the last sample of a batch is in, its dispatch loop has already sent
 *   the next batch with the sequences that were quicker: with 4 streams, batches of 3.
 * - Its contexts keep one KV cache stream per sequence, and llama.cpp then decodes a batch in one step
 *   only while its tokens' sequence ids are consecutive and increasing ({0,1,2,3}); any other order
 *   ({2,0,1}, {0,1,3}) is split into several steps, each reading all the weights again. Measured: its
 *   batches of 3 cost 2.1× a single token; 4 streams at 1 thread made 50-56 tokens/s in all, against
 *   100-128 with the batches gathered and ordered here (llama-server: 120-132).
 *
 * So here a generating sequence's next step waits until every generating sequence has its next step
 * ready; then all are queued together, in the order of their sequence ids, and dispatched at once.
 * Waiting for a sequence whose step is still being decoded costs nothing (the context is busy with it
 * anyway); one that is busy elsewhere (between steps) holds the others for at most `maxWaitMs`.
 * Batches of generated tokens are timed for the thread tuner (`onBatch`).
 */
export class DecodeBatcher {
  /** Sequences inside a generation loop. */
  private active = 0;
  /** Steps released and not yet finished (decoding, or sampling their token). */
  private inFlight = 0;
  /** Steps ready to go, waiting for the other generating sequences. */
  private readonly ready: Array<{ order: number; prompt: boolean; go: (batch: Batch) => void }> = [];
  private timer: NodeJS.Timeout | null = null;
  private dispatch: (() => void) | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** See `keepEventLoopTurning`; null: the decodes themselves return through the event loop. */
  private turnEveryMs: number | null = null;
  private lastTurn = 0;

  constructor(
    /** Told how long each batch of generated tokens took, from its release to its last sampled token. */
    private readonly onBatch: (width: number, ms: number) => void = () => {},
    private readonly maxWaitMs = 2,
  ) {}

  /** A sequence starts generating. Returns the matching `leave`. */
  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
      this.consider();
    };
  }

  /**
   * One decode step of a generating sequence: its next token, or (`prompt`) a chunk of prompt;
   * `order` is the sequence's id in its context.
   */
  step<T>(order: number, prompt: boolean, decode: () => Promise<T>): Promise<T> {
    // Alone, there is nobody to wait for.
    if (this.active <= 1 && this.ready.length === 0 && this.inFlight === 0) {
      return this.run(decode, { started: performance.now(), width: 1, left: 1, prompt });
    }
    return new Promise<T>((resolve, reject) => {
      this.ready.push({ order, prompt, go: (batch) => void this.run(decode, batch).then(resolve, reject) });
      this.consider();
    });
  }

  /**
   * For node-llama-cpp's `batching.dispatchSchedule`: called when a batch gets its first item. The steps
   * released together are queued within the same turn of the event loop (a few promise turns each), so
   * the batch goes out on the next turn; alone, a sequence's step is the whole batch and goes at once.
   */
  readonly schedule = (dispatch: () => void): void => {
    if (this.active <= 1) return dispatch();
    this.dispatch = dispatch;
    this.immediate ??= setImmediate(this.dispatchNow);
  };

  /**
   * For a context that decodes on this thread (sync-decode.ts): its steps would then follow each other
   * without ever returning to the event loop (node-llama-cpp dispatches at once when every sequence of
   * the context has a step queued), so new requests, aborts and stream timers would wait for the whole
   * generation. With this, steps go out on the event loop's next turn when the last turn is `everyMs`
   * or more ago; the steps of one batch all wait for the same turn.
   */
  keepEventLoopTurning(everyMs: number): void {
    this.turnEveryMs = everyMs;
  }

  private run<T>(decode: () => Promise<T>, batch: Batch): Promise<T> {
    this.inFlight++;
    let decoding: Promise<T>;
    if (this.turnEveryMs !== null && performance.now() - this.lastTurn >= this.turnEveryMs) {
      decoding = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.lastTurn = performance.now();
        return decode();
      });
    } else {
      try {
        decoding = decode();
      } catch (err) {
        decoding = Promise.reject(err);
      }
    }
    return decoding.finally(() => {
      this.inFlight--;
      if (--batch.left === 0 && !batch.prompt) this.onBatch(batch.width, performance.now() - batch.started);
      this.consider();
    });
  }

  private consider(): void {
    if (this.ready.length === 0) return;
    // Steps still in flight come back here; until they do, the context is busy with them anyway.
    if (this.inFlight > 0) return;
    if (this.ready.length >= this.active) return this.release();
    this.timer ??= setTimeout(this.release, this.maxWaitMs);
  }

  private readonly release = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const steps = this.ready.splice(0).sort((a, b) => a.order - b.order);
    const batch: Batch = { started: performance.now(), width: steps.length, left: steps.length, prompt: steps.some((step) => step.prompt) };
    for (const step of steps) step.go(batch);
  };

  private readonly dispatchNow = (): void => {
    this.immediate = null;
    this.lastTurn = performance.now();
    const dispatch = this.dispatch;
    this.dispatch = null;
    dispatch?.();
  };
}

/** Steps released together, decoded (as far as this side can tell) as one batch. */
interface Batch {
  started: number;
  width: number;
  /** Steps not finished yet. */
  left: number;
  /** Carries prompt tokens: not a measure of generation speed. */
  prompt: boolean;
}
