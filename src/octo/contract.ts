/**
 * The task contract a client submits (POST /octo/tasks) and the task record it gets back. One zod
 * schema gives the route's validation and the types the orchestrator trusts.
 */
import { z } from "zod";
import type { TaskError } from "./errors.js";

export const PRIORITIES = ["low", "medium", "high", "critical"] as const;
export type TaskPriority = (typeof PRIORITIES)[number];

/** Engine scheduler priority of each task priority (higher is served first, as X-Priority). */
export const PRIORITY_RANK: Readonly<Record<TaskPriority, number>> = { low: -1, medium: 0, high: 1, critical: 2 };

export const TASK_STATUSES = ["pending", "planning", "running", "completed", "failed", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINISHED_STATUSES: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);

const stringList = (max: number, itemMax: number) =>
  z
    .union([z.string().max(itemMax), z.array(z.string().max(itemMax)).max(max)])
    .transform((value) => (typeof value === "string" ? [value] : value).map((s) => s.trim()).filter((s) => s.length > 0));

const contextItem = z.object({ name: z.string().max(512).optional(), content: z.string().max(1_000_000) });

export const taskContractSchema = z.object({
  goal: z.string().max(20_000).refine((s) => s.trim().length > 0, "must not be empty"),
  constraints: stringList(50, 4000).default([]),
  /** Material the task works on: text, or named pieces (files, documents). */
  context: z
    .union([z.string().max(1_000_000), z.array(contextItem).max(100)])
    .transform((value) => (typeof value === "string" ? (value.trim() ? [{ content: value }] : []) : value))
    .default([]),
  acceptance_criteria: stringList(50, 2000).default([]),
  budget: z
    .object({
      max_tokens: z.number().int().positive().optional(),
      max_time_seconds: z.number().positive().max(7 * 24 * 3600).optional(),
      max_steps: z.number().int().positive().max(1000).optional(),
    })
    .strict()
    .default({}),
  priority: z.enum(PRIORITIES).default("medium"),
  /** JSON Schema the final result must match: the answer is then generated as JSON under it. */
  output_schema: z.record(z.string(), z.unknown()).optional(),
  metadata: z
    .record(z.string(), z.json())
    .refine((m) => JSON.stringify(m).length <= 64 * 1024, "must be at most 64 KiB of JSON")
    .default({}),
});

export type TaskContract = z.output<typeof taskContractSchema>;
export type TaskContractInput = z.input<typeof taskContractSchema>;

/** One step of a plan, as the planner produced it (after validation and repair). */
export interface PlanStep {
  id: string;
  arm: string;
  action: string;
  acceptance_criteria: string[];
  depends_on: string[];
  /** Decide this step by a swarm of proposals. */
  swarm?: boolean;
}

export interface Plan {
  steps: PlanStep[];
  /** What validation changed (unknown dependencies dropped, cycles broken…). */
  repairs: string[];
  model: string | null;
}

export type StepStatus = "pending" | "running" | "completed" | "failed" | "skipped";

export interface JudgeIssue {
  severity: "error" | "warning" | "info";
  /** Which check: schema, criterion, quality. */
  kind: "schema" | "criterion" | "quality";
  message: string;
  criterion?: string;
}

export interface Judgement {
  passed: boolean;
  issues: JudgeIssue[];
  criteria: Array<{ criterion: string; met: boolean; reason: string }>;
  model: string | null;
}

export interface Consensus {
  method: "majority" | "similarity";
  /** Share of the vote (majority) or similarity-weighted support (similarity) of the winner, 0..1. */
  level: number;
  proposals: number;
  winner: number;
  arbitrated: boolean;
}

export interface StepProvenance {
  arm: string;
  /** Every model that answered for this step (arm, judge, swarm proposals). */
  models: string[];
  tokens: { prompt: number; completion: number };
  duration_ms: number;
  /** Repair retries after the first run. */
  retries: number;
  consensus?: Consensus;
}

export interface StepRecord {
  id: string;
  position: number;
  arm: string;
  action: string;
  acceptance_criteria: string[];
  depends_on: string[];
  swarm: boolean;
  status: StepStatus;
  /** The arm's structured output. */
  output: unknown;
  /** The output as text (what later steps, the judge and the final answer read). */
  output_text: string | null;
  judgement: Judgement | null;
  attempts: number;
  provenance: StepProvenance | null;
  error: TaskError | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface TaskResult {
  /** The final answer: text, or JSON under the contract's output_schema. */
  output: unknown;
  text: string;
  /** All acceptance criteria (the task's and its steps') were judged met. */
  verified: boolean;
  unmet: Array<{ step: string; criterion?: string; message: string }>;
  guardian: { action: "pass" | "redact"; redactions: number; findings: string[] };
}

export interface TaskRecord {
  id: string;
  status: TaskStatus;
  contract: TaskContract;
  plan: Plan | null;
  steps: StepRecord[];
  result: TaskResult | null;
  error: TaskError | null;
  tokens: { prompt: number; completion: number; total: number };
  steps_run: number;
  resumes: number;
  timings: { created_at: string; started_at: string | null; finished_at: string | null; elapsed_ms: number };
}

export interface TaskEvent {
  task_id: string;
  seq: number;
  type: TaskEventType;
  time: string;
  data: Record<string, unknown>;
}

export type TaskEventType =
  | "created"
  | "screened"
  | "planned"
  | "step_started"
  | "step_completed"
  | "step_retried"
  | "step_failed"
  | "judged"
  | "resumed"
  | "completed"
  | "failed"
  | "cancelled";

export const TERMINAL_EVENTS: ReadonlySet<TaskEventType> = new Set(["completed", "failed", "cancelled"]);
