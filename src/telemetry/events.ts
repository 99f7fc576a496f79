import { EventEmitter } from "node:events";

/**
 * The instance's event bus: what happened, for the admin event stream (SSE), metrics and logs.
 * Producers emit typed events; consumers subscribe and get every event in order.
 */
export interface LmxEvents {
  model_loaded: { model: string; pid: number | undefined; duration_ms: number; memory_bytes: number; pinned: boolean };
  model_unloaded: { model: string; reason: "request" | "keep_alive" | "evicted" | "shutdown" | "deleted" };
  model_state: { model: string; state: string };
  download_progress: Record<string, unknown>;
  download_completed: Record<string, unknown>;
  download_failed: Record<string, unknown>;
  download_cancelled: Record<string, unknown>;
  memory_warning: { used_percent: number; threshold_percent: number; free_bytes: number; total_bytes: number };
  config_reloaded: { changed: string[]; ignored: string[] };
  request_completed: {
    request_id: string;
    route: string;
    model: string | null;
    status: number;
    duration_ms: number;
    prompt_tokens: number;
    completion_tokens: number;
    cached_tokens: number;
    ttft_ms: number | null;
    client_id: string | null;
  };
}

export type LmxEventName = keyof LmxEvents;
export interface LmxEvent<K extends LmxEventName = LmxEventName> {
  type: K;
  time: string;
  data: LmxEvents[K];
}

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every admin SSE client subscribes; many clients are fine.
    this.emitter.setMaxListeners(0);
  }

  emit<K extends LmxEventName>(type: K, data: LmxEvents[K]): void {
    // Every request ends with one; most of the time nobody listens (only admin event streams do).
    if (this.emitter.listenerCount("event") === 0) return;
    const event: LmxEvent<K> = { type, time: new Date().toISOString(), data };
    this.emitter.emit("event", event);
  }

  /** Every event; returns the unsubscribe function. */
  subscribe(listener: (event: LmxEvent) => void): () => void {
    this.emitter.on("event", listener);
    return () => this.emitter.off("event", listener);
  }
}
