/**
 * What an arm is: a capability descriptor (for GET /octo/arms and the planner), an input schema, and
 * `run`. Arms get everything else through their context: their own model (already chosen by config,
 * metered against the task's budget), the abort signal, few-shot examples from memory and, on a
 * repair, the judge's issues with the previous attempt.
 */
import { z } from "zod";
import type { Logger } from "../../telemetry/logger.js";
import type { PlanStep, TaskContract } from "../contract.js";
import type { JsonSchema, LlmRequest, LlmResponse } from "../llm.js";
import type { Episode } from "../store/types.js";

export const ARM_IDS = ["planner", "coder", "writer", "retriever", "judge", "guardian", "executor"] as const;
export type ArmId = (typeof ARM_IDS)[number];
/** Arms with a model of their own (configured under octo.arms). */
export type ModelArmId = "planner" | "coder" | "writer" | "retriever" | "judge" | "executor";

export type CostTier = "free" | "low" | "medium" | "high";

export interface ArmDescriptor {
  id: ArmId;
  description: string;
  input_schema: JsonSchema;
  output_schema: JsonSchema;
  cost_tier: CostTier;
  /** The alias or model id it calls; null for arms without a model. */
  model: string | null;
  /** The upstream it calls instead of the local engine, if configured. */
  upstream: string | null;
  /** The planner may give steps to it. */
  plannable: boolean;
  available: boolean;
  unavailable_reason?: string;
}

/** A model call as an arm makes it: the model, token limit, temperature and signal come from the context. */
export type ArmChatRequest = Omit<LlmRequest, "model" | "maxTokens" | "signal" | "priority"> & { maxTokens?: number };

export interface ArmContext {
  chat(request: ArmChatRequest): Promise<LlmResponse>;
  signal: AbortSignal;
  /** The task the call works for (executor work dir, capability token); null for a direct call. */
  taskId: string | null;
  /** Recent successful examples of this arm, newest first. */
  examples: readonly Episode[];
  /** The judge's issues with the previous attempt, on a repair. */
  feedback: readonly string[];
  /** Most characters of material (context, earlier results) an arm puts in one prompt. */
  promptChars: number;
  log: Logger;
}

export interface ArmOutput<O = unknown> {
  output: O;
  /** The output as text: what the judge reads, later steps get, and the final answer is made of. */
  text: string;
  /** The model answer was cut off at its token limit. */
  truncated?: boolean;
  /** 0..1 when the model reported one (token log probabilities). */
  confidence?: number | null;
  /** A short discrete answer (a verdict, a number), which swarm decisions count by majority. */
  discrete?: string | null;
  /** Problems the arm itself found (a failing check): shown to the judge. */
  problems?: string[];
}

/** What a plan step gives its arm: the step, the task, and the outputs of the steps it depends on. */
export interface StepInput {
  step: PlanStep;
  contract: TaskContract;
  dependencies: ReadonlyArray<{ step: PlanStep; text: string; output: unknown }>;
}

export interface Arm<I = unknown, O = unknown> {
  readonly id: ArmId;
  readonly input: z.ZodType<I>;
  describe(): Promise<ArmDescriptor>;
  run(input: I, ctx: ArmContext): Promise<ArmOutput<O>>;
  /** A plan step → this arm's input. Plannable arms only. */
  fromStep?(input: StepInput): I;
}

/** JSON Schema of a zod schema as a client sends it (defaults optional). */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}
