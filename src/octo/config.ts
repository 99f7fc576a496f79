import { z } from "zod";

/**
 * Octo's settings (the `octo:` section of config.yaml). Every key has a default, so an empty section
 * runs: arms use the router's fallback aliases (`reasoning`, `code`, `chat` → any ready model).
 */

const positiveInt = () => z.number().int().positive();

/** Where an arm's model calls go: a model id or alias through the router, or a named upstream. */
const armModelSchema = z
  .object({
    /** Model id, alias or `preset:NAME` (through the router), or the model name sent to `upstream`. */
    model: z.string().min(1),
    /** Name of an entry of `octo.upstreams`: call that OpenAI-compatible server instead of the local engine. */
    upstream: z.string().min(1).nullable().default(null),
    /** Tokens per call of this arm (the task's token budget may lower it). */
    max_tokens: positiveInt().default(512),
    temperature: z.number().min(0).max(2).default(0.7),
  })
  .strict();

export type ArmModelConfig = z.infer<typeof armModelSchema>;

const armModel = (model: string, overrides: Partial<ArmModelConfig> = {}) =>
  armModelSchema.prefault({ model, ...overrides });

const upstreamSchema = z
  .object({
    /** Base URL of an OpenAI-compatible API, e.g. https://api.example.com/v1 (…/chat/completions is appended). */
    url: z.url(),
    /** Sent as `Authorization: Bearer …`. */
    api_key: z.string().min(1).nullable().default(null),
    timeout_ms: positiveInt().default(120_000),
  })
  .strict();

const budgetSchema = z
  .object({
    max_tokens: positiveInt().default(20_000),
    max_time_seconds: positiveInt().default(600),
    /** Step runs (a repair retry counts as a run). */
    max_steps: positiveInt().default(16),
  })
  .strict();

export const octoConfigSchema = z
  .object({
    /** SQLite database of tasks, steps, events, collections and memory. */
    db_path: z.string().min(1).default("~/.lmx/octo.db"),

    arms: z
      .object({
        planner: armModel("reasoning", { temperature: 0.2, max_tokens: 768 }),
        coder: armModel("code", { temperature: 0.2, max_tokens: 768 }),
        writer: armModel("chat"),
        retriever: armModel("chat", { temperature: 0.2 }),
        judge: armModel("reasoning", { temperature: 0, max_tokens: 384 }),
        /** The executor's model only turns a plan step into a command. */
        executor: armModel("code", { temperature: 0, max_tokens: 256 }),
      })
      .strict()
      .prefault({}),
    /** OpenAI-compatible servers arms may use instead of local models (`arms.<arm>.upstream`). */
    upstreams: z.record(z.string().min(1), upstreamSchema).default({}),
    /** Model (id, alias or preset) whose embeddings index knowledge collections. */
    embedding_model: z.string().min(1).default("embedding"),

    /**
     * This instance takes and runs tasks. Off: it serves the API (submissions wait for an instance
     * that runs tasks), e.g. for a short-lived embedded server such as `lmx run` starts.
     */
    run_tasks: z.boolean().default(true),
    /** Tasks run at once; the others wait (pending), highest priority first. */
    max_concurrent_tasks: positiveInt().default(2),
    /** Steps of one task run at once when their dependencies are done. */
    max_parallel_steps: positiveInt().default(2),
    /** Repair retries of a step the judge rejects (or whose arm fails). */
    max_repairs: z.number().int().min(0).max(10).default(2),
    /**
     * Most characters of material (the task's context, earlier steps' results, examples) put in one
     * prompt; longer material is cut in the middle. Keep it within the models' context size (≈ 3-4
     * characters per token).
     */
    prompt_chars: positiveInt().default(8000),
    /** Steps a plan may have. */
    max_plan_steps: positiveInt().max(64).default(8),
    /** A task with no budget of its own gets this one (each field separately). */
    default_budget: budgetSchema.prefault({}),
    /**
     * What a step whose output still fails its acceptance criteria after every repair does: `continue`
     * keeps the best attempt and reports the unmet criteria in the result; `fail` fails the task.
     */
    on_unmet_criteria: z.enum(["continue", "fail"]).default("continue"),

    swarm: z
      .object({
        /** Proposals per swarm decision. */
        size: z.number().int().min(2).max(9).default(3),
        /** Tasks of these priorities run every step as a swarm; other steps only when the plan marks them. */
        priorities: z.array(z.enum(["low", "medium", "high", "critical"])).default(["high", "critical"]),
        /** Proposals differ by seed; temperatures are spread from the arm's temperature by this much. */
        temperature_spread: z.number().min(0).max(1).default(0.3),
        /** Below this winning share (0..1) the judge arbitrates between the leading proposals. */
        arbitrate_below: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .prefault({}),

    reflex: z
      .object({
        /** A goal or context with a prompt-injection finding at or above this severity is refused. */
        block_injection_at: z.enum(["low", "medium", "high", "critical", "never"]).default("high"),
      })
      .strict()
      .prefault({}),

    guardian: z
      .object({
        /** Personal data in what leaves a task: replace it, refuse the whole output, or let it through. */
        pii: z.enum(["redact", "block", "allow"]).default("redact"),
        /** Secrets (API keys, private keys, JWTs, passwords) in what leaves a task. */
        secrets: z.enum(["redact", "block"]).default("block"),
        /** Prompt-injection text in what leaves a task (it would reach the next model or agent). */
        injection: z.enum(["flag", "block"]).default("flag"),
        redaction: z.enum(["mask", "partial", "remove"]).default("mask"),
        /** Longer outputs are refused rather than screened partially (fail closed). */
        max_chars: positiveInt().default(1_000_000),
      })
      .strict()
      .prefault({}),

    executor: z
      .object({
        /** Binaries runs may start (names on PATH inside the sandbox, or absolute paths). */
        allowed_binaries: z.array(z.string().min(1)).default(["python3", "node"]),
        /** Run commands without isolation when no sandbox works here. Off: refuse instead. */
        allow_unsandboxed: z.boolean().default(false),
        allow_shells: z.boolean().default(false),
        /** Task work dirs. Every parent must be searchable by the sandbox user; default <tmpdir>/lmx-octo-<uid>. */
        work_root: z.string().min(1).nullable().default(null),
        /** Keep a task's work dir when it ends (debugging). */
        keep_workdirs: z.boolean().default(false),
        /** bubblewrap's path, when it is not in /usr/bin, /usr/local/bin or /bin. */
        bwrap_path: z.string().min(1).nullable().default(null),
        timeout_ms: positiveInt().default(30_000),
        max_output_bytes: positiveInt().default(256 * 1024),
      })
      .strict()
      .prefault({}),

    coder: z
      .object({
        /** Fix-and-rerun rounds when the coder's check fails in the sandbox. */
        max_check_rounds: z.number().int().min(0).max(5).default(2),
      })
      .strict()
      .prefault({}),

    memory: z
      .object({
        /** Recent successful examples offered to an arm as few-shot context. */
        episodic_examples: z.number().int().min(0).max(10).default(2),
        /** Related facts from past tasks offered to the planner. */
        facts_for_planner: z.number().int().min(0).max(20).default(3),
      })
      .strict()
      .prefault({}),

    /** Tasks interrupted by a crash: continue from their last completed step, or fail them. */
    on_restart: z.enum(["resume", "fail"]).default("resume"),
    /** A task interrupted this many times is failed instead of resumed again (it may be what crashes LMX). */
    max_resumes: z.number().int().min(0).default(3),
    /** How long a running task's claim holds without a heartbeat before another instance may take it. */
    lease_seconds: positiveInt().default(30),
  })
  .strict();

export type OctoConfig = z.infer<typeof octoConfigSchema>;
export type OctoBudgetConfig = z.infer<typeof budgetSchema>;
