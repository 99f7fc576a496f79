import { z } from "zod";
import { octoConfigSchema } from "../octo/config.js";
import { isKeepAlive } from "./duration.js";

/**
 * The one configuration schema: defaults, validation and the static type all come from here.
 * Keys are snake_case as they appear in config.yaml; LMX_* environment variables and CLI flags
 * map onto the same keys (see load.ts).
 */

const positiveInt = () => z.number().int().positive();
const keepAlive = () =>
  z.union([z.string(), z.number()]).refine(isKeepAlive, "expected a duration such as 30s, 5m, 1h30m, a number of seconds, 0, or -1 (forever)");

export const samplingDefaultsSchema = z
  .object({
    temperature: z.number().min(0).max(2).default(0.8),
    top_p: z.number().gt(0).max(1).default(0.95),
    top_k: z.number().int().min(0).default(40),
    min_p: z.number().min(0).max(1).default(0.05),
    repeat_penalty: z.number().min(0).default(1.0),
    /** Tokens generated when a request sets no max_tokens; null = until the context is full. */
    max_tokens: positiveInt().nullable().default(null),
  })
  .strict();

/**
 * Speculative decoding (node-llama-cpp's token predictors): draft tokens are checked by the model in
 * one batch, so output is exactly what plain decoding gives; only its speed changes.
 */
export const speculativeSchema = z
  .object({
    /** A smaller model with the same vocabulary (id or .gguf path) that drafts the next tokens. */
    draft_model: z.string().min(1).optional(),
    /** Prompt-lookup decoding: draft the tokens that followed the last few generated ones in the prompt. */
    prompt_lookup: z.boolean().optional(),
    /** Most tokens drafted at a time (default 16 with a draft model, 3 with prompt lookup). */
    max_draft_tokens: positiveInt().max(64).optional(),
    /**
     * Draft model only: tokens the model waits for the draft model to draft before each step (default:
     * max_draft_tokens, drafting then checking in turn as llama.cpp does; 0 drafts alongside the model
     * and uses whatever is ready, which pays only when the draft model has cores of its own).
     */
    min_draft_tokens: z.number().int().min(0).max(64).optional(),
    /** Draft model only: stop drafting at a token the draft model is less sure of than this (default 0.6). */
    min_confidence: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((value) => !(value.draft_model && value.prompt_lookup), "set either draft_model or prompt_lookup, not both")
  .refine((value) => value.draft_model !== undefined || value.prompt_lookup !== undefined, "set draft_model or prompt_lookup");

/** Settings a model can override individually (config `models.<id>`, presets, load requests). */
export const modelSettingsSchema = z
  .object({
    /** Sequences of the model's context: requests it serves at once (continuous batching). */
    parallel: positiveInt().max(256).optional(),
    /** Context size, in tokens, of each sequence. */
    context_size: positiveInt().optional(),
    /** CPU threads for evaluation. */
    threads: positiveInt().max(1024).optional(),
    /** Layers offloaded to the GPU: "auto", "max" or a number. */
    gpu_layers: z.union([z.literal("auto"), z.literal("max"), z.number().int().min(0)]).optional(),
    /** Tokens evaluated per batch during prompt processing. */
    batch_size: positiveInt().optional(),
    flash_attention: z.boolean().optional(),
    /** Reuse the KV cache of the longest matching prompt prefix across requests (default on). */
    prefix_cache: z.boolean().optional(),
    /** Speculative decoding with a draft model or prompt lookup (default off). */
    speculative: speculativeSchema.nullable().optional(),
    /** How long the model stays loaded after its last request (Ollama's keep_alive). */
    keep_alive: keepAlive().optional(),
  })
  .strict();

export type ModelSettings = z.infer<typeof modelSettingsSchema>;

export const configSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(1234),
    /** Directory scanned for .gguf files (a hub layout <org>/<repo>/<file>.gguf is understood). */
    models_dir: z.string().min(1).default("~/.lmx/models"),
    /** Model ids or .gguf paths loaded at start. */
    auto_load: z.array(z.string().min(1)).default([]),
    log_level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    /** Log prompt and completion text. Off by default: prompts are private. */
    log_prompts: z.boolean().default(false),
    /** Also write logs to this file, rotated by size (the service installs set it). */
    log_file: z.string().min(1).nullable().default(null),

    /** Required in X-Admin-Key on /admin when set. */
    admin_key: z.string().min(8, "use at least 8 characters").nullable().default(null),
    /** Required as `Authorization: Bearer KEY` or X-Api-Key on the inference APIs when set. */
    api_key: z.string().min(8, "use at least 8 characters").nullable().default(null),
    /** Largest accepted request body, in bytes. */
    body_limit: positiveInt().default(16 * 1024 * 1024),

    /** GPU backend: "auto" picks Metal, CUDA or Vulkan when available, CPU otherwise. */
    gpu: z.enum(["auto", "metal", "cuda", "vulkan", "cpu"]).default("auto"),
    /** Defaults for every model; `models.<id>` overrides them. `threads` defaults from the machine's cores. */
    model_defaults: modelSettingsSchema.prefault({}),
    models: z.record(z.string(), modelSettingsSchema).default({}),
    sampling: samplingDefaultsSchema.prefault({}),

    /** Model aliases: a name → models in order of preference (the first loaded, else loadable, one serves). */
    aliases: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
    /** Presets defined inline (each as a preset file would define it). */
    presets: z.array(z.unknown()).default([]),
    /** Directory of preset YAML files. */
    presets_dir: z.string().min(1).default("~/.lmx/presets"),

    /** Hugging Face Hub for downloads: a mirror (default $HF_ENDPOINT or huggingface.co) and a token for gated repos (default $HF_TOKEN). */
    hub: z
      .object({
        endpoint: z.string().url().nullable().default(null),
        token: z.string().min(1).nullable().default(null),
      })
      .strict()
      .prefault({}),

    /** Load a model on disk when a request names it and it is not loaded. */
    jit_loading: z.boolean().default(true),
    /** Keep-alive of models loaded on demand or through the admin API without one (-1: forever). */
    keep_alive: keepAlive().default("5m"),
    /** Loaded models at once; the least recently used unpinned one is unloaded to make room (0: no limit). */
    max_loaded_models: z.number().int().min(0).default(3),
    /** Share of system memory all loaded models may use together; a load that would exceed it is refused (507) or makes room. */
    max_memory_percent: z.number().gt(0).max(100).default(90),
    /** Above this share of system memory in use, new inference requests get 503 `overloaded`. */
    load_shedding_percent: z.number().gt(0).max(100).default(95),
    /** Time in-flight requests get to finish when their model is unloaded, before they are cut off. */
    unload_grace_ms: z.number().int().min(0).default(10_000),

    queue: z
      .object({
        /** Requests waiting per model when every sequence is busy; beyond it requests get 429. */
        max_size: z.number().int().min(0).default(64),
        /** Seconds a client is told to wait (Retry-After) when the queue is full. */
        retry_after_seconds: positiveInt().default(1),
      })
      .strict()
      .prefault({}),

    /** Per-client (X-Client-ID) concurrency on each model, so one noisy client cannot starve the rest. */
    clients: z
      .object({
        /** Requests one client may run at once on a model; 0 = no limit. */
        max_concurrent: z.number().int().min(0).default(0),
        /** Per client id. */
        overrides: z.record(z.string(), z.number().int().min(0)).default({}),
      })
      .strict()
      .prefault({}),

    /** The reflex layer: screening, caches and rate limits in front of the models. */
    reflex: z
      .object({
        /**
         * off: nothing; audit: findings reported in headers, metrics and logs only; redact: PII is
         * replaced before the model sees it; enforce: also blocks injections at `block_severity`.
         */
        mode: z.enum(["off", "audit", "redact", "enforce"]).default("audit"),
        /** How PII is replaced in redact/enforce mode; `token` restores the values in the answer. */
        redaction: z.enum(["mask", "partial", "hash", "remove", "token"]).default("token"),
        /** Salt for `hash` redaction (required for it). */
        hash_salt: z.string().min(8).nullable().default(null),
        /** Injection severity blocked in enforce mode. */
        block_severity: z.enum(["low", "medium", "high", "critical"]).default("critical"),
        pii: z
          .object({
            /** Built-in types reported (null: all). */
            types: z.array(z.string()).nullable().default(null),
            min_confidence: z.number().min(0).max(1).default(0.5),
            /** Extra patterns: {name, regex, confidence?, case_insensitive?}. */
            custom_patterns: z
              .array(
                z
                  .object({
                    name: z.string().regex(/^[A-Za-z][\w-]{0,40}$/),
                    regex: z.string().min(1).refine((source) => {
                      try {
                        new RegExp(source, "g");
                        return true;
                      } catch {
                        return false;
                      }
                    }, "not a valid regular expression"),
                    confidence: z.number().min(0).max(1).optional(),
                    case_insensitive: z.boolean().optional(),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict()
          .prefault({}),
        /** Verdict cache: screening results by text. */
        cache: z
          .object({ max_entries: positiveInt().default(4096), ttl_seconds: positiveInt().default(300) })
          .strict()
          .prefault({}),
        /** Token-bucket rate limits per API key, client id (X-Client-ID) or IP, on the inference APIs. */
        rate_limit: z
          .object({
            enabled: z.boolean().default(false),
            /** memory: this process; redis: shared by every LMX instance using the same Redis. */
            backend: z.enum(["memory", "redis"]).default("memory"),
            redis_url: z.string().default("redis://127.0.0.1:6379"),
            key_prefix: z.string().default("lmx:rl:"),
            /** What identifies a caller, first available wins. */
            key_by: z.array(z.enum(["api_key", "client_id", "ip"])).min(1).default(["api_key", "client_id", "ip"]),
            tiers: z
              .record(z.string().regex(/^[\w-]+$/), z.object({ rate_per_second: z.number().positive(), burst: positiveInt() }).strict())
              .default({ default: { rate_per_second: 10, burst: 20 } }),
            default_tier: z.string().default("default"),
            /** Caller key (client id, IP, or an API key's `key:` + first 8 characters) → tier. */
            clients: z.record(z.string(), z.string()).default({}),
          })
          .strict()
          .prefault({})
          .refine((r) => r.default_tier in r.tiers, { message: "default_tier must name one of tiers", path: ["default_tier"] })
          .refine((r) => Object.values(r.clients).every((tier) => tier in r.tiers), { message: "every client must map to one of tiers", path: ["clients"] }),
        /** Identical deterministic requests (temperature 0 or a seed) answered from a store. Off by default. */
        answer_cache: z
          .object({
            enabled: z.boolean().default(false),
            max_entries: positiveInt().default(1000),
            ttl_seconds: positiveInt().default(3600),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),

    websocket: z
      .object({
        /** A socket with nothing running and nothing received for this long is closed. */
        idle_timeout_ms: positiveInt().default(300_000),
      })
      .strict()
      .prefault({}),

    octo: octoConfigSchema.prefault({}),

    runner: z
      .object({
        /** A generation that makes no progress for this long is treated as a hung runner (killed, restarted). */
        hang_timeout_ms: positiveInt().default(120_000),
        /** This many crashes within crash_window_ms quarantine a model. */
        max_crashes: positiveInt().default(3),
        crash_window_ms: positiveInt().default(60_000),
        /** Time a runner gets to load a model before the load fails. */
        load_timeout_ms: positiveInt().default(300_000),
        /**
         * While tokens stream, a runner sends them to the API process at most this often (ms); the
         * first token is never delayed, and a token that comes later than this goes out at once.
         * "auto": 100 when the model decodes on the CPU with a thread on every core (each wake-up of
         * the API process and the client then stalls the model's threads), 30 otherwise; 0 sends
         * every token at once. See engine/runner/stream-interval.ts for the measurements.
         */
        stream_interval_ms: z.union([z.literal("auto"), z.number().min(0).max(1000)]).default("auto"),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type LmxConfig = z.infer<typeof configSchema>;
/** What a config file, the environment or flags may give: any subset, nested. */
export type ConfigInput = z.input<typeof configSchema>;
