import { rateLimited } from "../errors.js";

export interface SchedulerOptions {
  /** Requests served at once: the model's sequences. */
  slots: number;
  /** Requests allowed to wait; beyond it `acquire` fails with 429. */
  maxQueue: number;
  retryAfterSeconds: number;
  /** Requests one client (X-Client-ID) may run at once on this model; 0 = no limit. */
  clientLimit?: (clientId: string) => number;
}

export interface AdmitOptions {
  /** Higher is served first; equal priorities are served in arrival order. */
  priority?: number;
  /** The client asking; a client at its limit waits while others are served. */
  clientId?: string | null;
  signal: AbortSignal;
}

interface Waiter {
  priority: number;
  seq: number;
  clientId: string | null;
  grant(release: () => void): void;
  fail(error: unknown): void;
}

/**
 * Admission for one loaded model: `slots` requests run, up to `maxQueue` wait (priority, then FIFO),
 * the rest are refused with 429 + Retry-After. A client at its concurrency limit waits while other
 * clients' requests behind it are served, so one noisy client cannot starve the rest. Nothing waits
 * silently forever: a waiter whose client goes away leaves the queue, and `failAll` empties it when
 * the model goes away.
 */
export class SlotScheduler {
  private running = 0;
  private readonly queue: Waiter[] = [];
  private arrivals = 0;
  private readonly runningByClient = new Map<string, number>();

  constructor(private options: SchedulerOptions) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.queue.length;
  }

  get slots(): number {
    return this.options.slots;
  }

  update(options: Partial<SchedulerOptions>): void {
    this.options = { ...this.options, ...options };
    this.dispatch();
  }

  /** Resolves with a release function once a slot is free. */
  acquire({ priority = 0, clientId = null, signal }: AdmitOptions): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.queue.indexOf(waiter);
        if (at !== -1) this.queue.splice(at, 1);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        priority,
        seq: this.arrivals++,
        clientId,
        grant: (release) => {
          signal.removeEventListener("abort", onAbort);
          resolve(release);
        },
        fail: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      // Queue it in its place and let dispatch decide: it may run at once (a free slot, its client
      // under its limit) even when others wait — for instance behind a client at its limit.
      this.insert(waiter);
      this.dispatch();
      if (this.queue.includes(waiter) && this.queue.length > this.options.maxQueue) {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        waiter.fail(
          rateLimited(
            `The model is busy: ${this.running} requests are running and ${this.queue.length} are waiting. Retry after ${this.options.retryAfterSeconds} s.`,
            this.options.retryAfterSeconds,
            "queue_full",
          ),
        );
      }
    });
  }

  /** Fail every waiting request (the model is going away). Running ones finish on their own. */
  failAll(error: unknown): void {
    for (const waiter of this.queue.splice(0)) waiter.fail(error);
  }

  private insert(waiter: Waiter): void {
    // Sorted by priority (desc), then arrival (asc); queues are short, so a linear scan is fine.
    let at = this.queue.length;
    while (at > 0 && this.queue[at - 1].priority < waiter.priority) at--;
    this.queue.splice(at, 0, waiter);
  }

  /** Requests a client runs now on this model. */
  runningFor(clientId: string): number {
    return this.runningByClient.get(clientId) ?? 0;
  }

  private clientMayRun(clientId: string | null): boolean {
    if (clientId === null) return true;
    const limit = this.options.clientLimit?.(clientId) ?? 0;
    return limit <= 0 || this.runningFor(clientId) < limit;
  }

  private take(clientId: string | null): () => void {
    this.running++;
    if (clientId !== null) this.runningByClient.set(clientId, this.runningFor(clientId) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      if (clientId !== null) {
        const left = this.runningFor(clientId) - 1;
        if (left > 0) this.runningByClient.set(clientId, left);
        else this.runningByClient.delete(clientId);
      }
      this.dispatch();
    };
  }

  private dispatch(): void {
    while (this.running < this.options.slots) {
      // The first waiter in priority order whose client is under its limit.
      const at = this.queue.findIndex((waiter) => this.clientMayRun(waiter.clientId));
      if (at === -1) return;
      const [waiter] = this.queue.splice(at, 1);
      waiter.grant(this.take(waiter.clientId));
    }
  }
}
