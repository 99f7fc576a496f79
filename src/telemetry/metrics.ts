import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics of one LMX instance, in its own registry (no global default registry, so
 * several instances in one process — tests — do not mix). Request metrics are recorded when a
 * request completes; gauges (queue depth, in flight, loaded models, memory) are read at scrape time.
 */
export interface RequestRecord {
  route: string;
  model: string | null;
  status: number;
  client: string | null;
  errorCode: string | null;
  durationMs: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  ttftMs: number | null;
  /** Time spent generating after the first token (decode), for tokens/s. */
  decodeMs: number | null;
  /** Speculative decoding: draft tokens the model accepted and rejected. */
  draftAccepted: number;
  draftRejected: number;
}

export interface GaugeSource {
  models(): Array<{ id: string; inFlight: number; queued: number; memoryBytes: number; state: string }>;
  memory(): { totalBytes: number; freeBytes: number };
}

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"route" | "model" | "status" | "client">;
  private readonly errors: Counter<"route" | "model" | "code">;
  private readonly promptTokens: Counter<"model" | "client">;
  private readonly completionTokens: Counter<"model" | "client">;
  private readonly cachedTokens: Counter<"model">;
  private readonly ttft: Histogram<"model">;
  private readonly duration: Histogram<"route" | "model">;
  private readonly decodeRate: Histogram<"model">;
  private readonly speculative: Counter<"model" | "outcome">;
  private readonly reflexPii: Counter<"type">;
  private readonly reflexInjection: Counter<"severity">;
  private readonly rateLimited: Counter<"tier">;

  constructor(source: GaugeSource) {
    const registers = [this.registry];
    this.requests = new Counter({ name: "lmx_requests_total", help: "Requests served, by route, model, HTTP status and client (X-Client-ID).", labelNames: ["route", "model", "status", "client"], registers });
    this.errors = new Counter({ name: "lmx_request_errors_total", help: "Requests that ended in an error, by error code.", labelNames: ["route", "model", "code"], registers });
    this.promptTokens = new Counter({ name: "lmx_prompt_tokens_total", help: "Prompt tokens processed.", labelNames: ["model", "client"], registers });
    this.completionTokens = new Counter({ name: "lmx_completion_tokens_total", help: "Tokens generated.", labelNames: ["model", "client"], registers });
    this.cachedTokens = new Counter({ name: "lmx_cached_prompt_tokens_total", help: "Prompt tokens served from the KV cache (prefix cache).", labelNames: ["model"], registers });
    this.ttft = new Histogram({
      name: "lmx_time_to_first_token_seconds",
      help: "Time from the request to its first generated token.",
      labelNames: ["model"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.duration = new Histogram({
      name: "lmx_request_duration_seconds",
      help: "Request duration.",
      labelNames: ["route", "model"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.decodeRate = new Histogram({
      name: "lmx_decode_tokens_per_second",
      help: "Decode speed of each request (tokens after the first, per second).",
      labelNames: ["model"],
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    });
    new Gauge({
      name: "lmx_models_loaded",
      help: "Models loaded.",
      registers,
      collect() {
        this.set(source.models().length);
      },
    });
    new Gauge({
      name: "lmx_queue_depth",
      help: "Requests waiting for a sequence, by model.",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of source.models()) this.set({ model: model.id }, model.queued);
      },
    });
    new Gauge({
      name: "lmx_in_flight_requests",
      help: "Requests being generated, by model.",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of source.models()) this.set({ model: model.id }, model.inFlight);
      },
    });
    new Gauge({
      name: "lmx_model_memory_bytes",
      help: "Estimated memory of each loaded model.",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of source.models()) this.set({ model: model.id }, model.memoryBytes);
      },
    });
    new Gauge({
      name: "lmx_memory_bytes",
      help: "System memory: total and free.",
      labelNames: ["kind"],
      registers,
      collect() {
        const memory = source.memory();
        this.set({ kind: "total" }, memory.totalBytes);
        this.set({ kind: "free" }, memory.freeBytes);
      },
    });
    this.reflexPii = new Counter({ name: "lmx_reflex_pii_total", help: "PII found in requests by the reflex layer, by type.", labelNames: ["type"], registers });
    this.reflexInjection = new Counter({
      name: "lmx_reflex_injections_total",
      help: "Requests with a prompt-injection finding, by highest severity.",
      labelNames: ["severity"],
      registers,
    });
    this.rateLimited = new Counter({ name: "lmx_rate_limited_total", help: "Requests refused by rate limits.", labelNames: ["tier"], registers });
    this.speculative = new Counter({
      name: "lmx_speculative_tokens_total",
      help: "Speculative decoding: draft tokens accepted and rejected by the model.",
      labelNames: ["model", "outcome"],
      registers,
    });
  }

  record(request: RequestRecord): void {
    const model = request.model ?? "none";
    const client = request.client ?? "none";
    this.requests.inc({ route: request.route, model, status: String(request.status), client });
    if (request.status >= 400) this.errors.inc({ route: request.route, model, code: request.errorCode ?? String(request.status) });
    this.duration.observe({ route: request.route, model }, request.durationMs / 1000);
    if (request.model === null) return;
    if (request.promptTokens > 0) this.promptTokens.inc({ model, client }, request.promptTokens);
    if (request.completionTokens > 0) this.completionTokens.inc({ model, client }, request.completionTokens);
    if (request.cachedTokens > 0) this.cachedTokens.inc({ model }, request.cachedTokens);
    if (request.draftAccepted > 0) this.speculative.inc({ model, outcome: "accepted" }, request.draftAccepted);
    if (request.draftRejected > 0) this.speculative.inc({ model, outcome: "rejected" }, request.draftRejected);
    if (request.ttftMs !== null) this.ttft.observe({ model }, request.ttftMs / 1000);
    if (request.decodeMs && request.decodeMs > 0 && request.completionTokens > 1) {
      this.decodeRate.observe({ model }, (request.completionTokens - 1) / (request.decodeMs / 1000));
    }
  }

  recordReflex(findings: { piiTypes: Record<string, number>; injection: string }): void {
    for (const [type, count] of Object.entries(findings.piiTypes)) this.reflexPii.inc({ type }, count);
    if (findings.injection !== "none") this.reflexInjection.inc({ severity: findings.injection });
  }

  recordRateLimited(tier: string): void {
    this.rateLimited.inc({ tier });
  }

  async prometheus(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  async json(): Promise<unknown> {
    return this.registry.getMetricsAsJSON();
  }
}
