/**
 * The judge: checks an output against a JSON Schema (json-validate.ts), against acceptance criteria
 * (the model answers each one met / not met with a reason, under a grammar that makes it answer every
 * criterion), and for basic quality (empty, cut off, repetitive, problems the arm reported). Issues
 * carry a severity; an output passes when it has no `error`. It also arbitrates between swarm proposals.
 */
import { z } from "zod";
import type { JudgeIssue, Judgement } from "../contract.js";
import { armOutputInvalid } from "../errors.js";
import { validateJson } from "../json-validate.js";
import { parseJsonAnswer, type JsonSchema } from "../llm.js";
import { clip } from "./prompt.js";
import { inputJsonSchema, type Arm, type ArmContext, type ArmDescriptor } from "./types.js";

export const judgeInput = z.object({
  /** The output to check: text, or JSON (checked against `schema`). */
  output: z.unknown(),
  /** Acceptance criteria, each answered met / not met by the model. */
  criteria: z.array(z.string().min(1).max(2000)).max(20).default([]),
  /** JSON Schema the output must match. */
  schema: z.record(z.string(), z.unknown()).optional(),
  /** What the output was for (the step's action or the goal). */
  task: z.string().max(20_000).default(""),
  /** Problems the producing arm reported itself (a failing check). */
  problems: z.array(z.string()).default([]),
  /** The producing model was cut off at its token limit. */
  truncated: z.boolean().default(false),
});
export type JudgeInput = z.input<typeof judgeInput>;

const judgementSchema: JsonSchema = {
  type: "object",
  properties: {
    passed: { type: "boolean" },
    issues: {
      type: "array",
      items: {
        type: "object",
        properties: {
          severity: { enum: ["error", "warning", "info"] },
          kind: { enum: ["schema", "criterion", "quality"] },
          message: { type: "string" },
          criterion: { type: "string" },
        },
        required: ["severity", "kind", "message"],
      },
    },
    criteria: {
      type: "array",
      items: { type: "object", properties: { criterion: { type: "string" }, met: { type: "boolean" }, reason: { type: "string" } }, required: ["criterion", "met", "reason"] },
    },
    model: { type: ["string", "null"] },
  },
  required: ["passed", "issues", "criteria", "model"],
};

export function createJudgeArm(deps: { model(): { model: string; upstream: string | null } }): Arm<z.output<typeof judgeInput>, Judgement> {
  return {
    id: "judge",
    input: judgeInput,
    async describe(): Promise<ArmDescriptor> {
      const target = deps.model();
      return {
        id: "judge",
        description: "Checks an output against a JSON Schema, acceptance criteria (each answered by the model with a reason) and basic quality; returns issues with severities.",
        input_schema: inputJsonSchema(judgeInput),
        output_schema: judgementSchema,
        cost_tier: "low",
        model: target.model,
        upstream: target.upstream,
        plannable: false,
        available: true,
      };
    },
    async run(input, ctx) {
      const issues: JudgeIssue[] = [];
      const text = typeof input.output === "string" ? input.output : JSON.stringify(input.output ?? null, null, 2);
      if (input.schema) {
        let value = input.output;
        if (typeof value === "string") {
          try {
            value = JSON.parse(value);
          } catch {
            issues.push({ severity: "error", kind: "schema", message: "The output is not JSON, but a JSON Schema was required." });
            value = undefined;
          }
        }
        if (value !== undefined) {
          for (const e of validateJson(value, input.schema, 10)) issues.push({ severity: "error", kind: "schema", message: `${e.path || "(root)"} ${e.message}` });
        }
      }
      issues.push(...qualityIssues(text, input.truncated, input.problems));

      let criteria: Judgement["criteria"] = [];
      let model: string | null = null;
      if (input.criteria.length > 0 && text.trim() !== "") {
        const answer = await judgeCriteria(ctx, input.task, text, input.criteria);
        criteria = answer.criteria;
        model = answer.model;
        for (const c of criteria) {
          if (!c.met) issues.push({ severity: "error", kind: "criterion", criterion: c.criterion, message: `Not met: ${c.criterion}${c.reason ? ` (${c.reason})` : ""}` });
        }
      } else {
        criteria = input.criteria.map((criterion) => ({ criterion, met: false, reason: "there is no output to check" }));
      }
      const judgement: Judgement = { passed: !issues.some((i) => i.severity === "error"), issues, criteria, model };
      return {
        output: judgement,
        text: judgement.passed ? "passed" : issues.filter((i) => i.severity === "error").map((i) => i.message).join("\n"),
        discrete: judgement.passed ? "passed" : "failed",
      };
    },
  };
}

/** Checks that need no model. */
export function qualityIssues(text: string, truncated: boolean, problems: readonly string[]): JudgeIssue[] {
  const issues: JudgeIssue[] = [];
  if (text.trim() === "") issues.push({ severity: "error", kind: "quality", message: "The output is empty." });
  if (truncated) issues.push({ severity: "error", kind: "quality", message: "The output was cut off at the token limit: be more concise." });
  for (const problem of problems) issues.push({ severity: "error", kind: "quality", message: problem });
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length >= 6) {
    const counts = new Map<string, number>();
    for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
    const top = Math.max(...counts.values());
    if (top / lines.length > 0.5) issues.push({ severity: "warning", kind: "quality", message: "The output repeats the same line over and over." });
  }
  return issues;
}

async function judgeCriteria(ctx: ArmContext, task: string, text: string, criteria: readonly string[]) {
  const properties: Record<string, unknown> = {};
  criteria.forEach((_, i) => {
    properties[`c${i + 1}`] = {
      type: "object",
      properties: { met: { type: "boolean" }, reason: { type: "string", maxLength: 160 } },
      required: ["met", "reason"],
      additionalProperties: false,
    };
  });
  const keys = Object.keys(properties);
  const budget = ctx.promptChars;
  const response = await ctx.chat({
    messages: [
      {
        role: "system",
        content: "You are a strict reviewer. For each numbered criterion decide whether the output meets it (met: true or false) and give a one-sentence reason. Judge only what the output shows.",
      },
      {
        role: "user",
        content: [
          task ? `Task: ${clip(task, Math.floor(budget / 4))}` : "",
          `Output to review:\n"""\n${clip(text, Math.floor(budget / 2))}\n"""`,
          `Criteria:\n${criteria.map((c, i) => `c${i + 1}: ${c}`).join("\n")}`,
        ]
          .filter(Boolean)
          .join("\n\n"),
      },
    ],
    schema: { name: "octo_judgement", schema: { type: "object", properties, required: keys, additionalProperties: false } },
    temperature: 0,
  });
  let parsed: Record<string, { met?: unknown; reason?: unknown }>;
  try {
    parsed = parseJsonAnswer(response) as typeof parsed;
  } catch (err) {
    throw armOutputInvalid("judge", (err as Error).message);
  }
  return {
    model: response.model,
    criteria: criteria.map((criterion, i) => {
      const answer = parsed?.[`c${i + 1}`];
      return { criterion, met: answer?.met === true, reason: typeof answer?.reason === "string" ? answer.reason : "" };
    }),
  };
}

/** Swarm arbitration: the judge picks the proposal that best does the task (1-based in the prompt). */
export async function arbitrate(ctx: ArmContext, task: string, candidates: readonly string[]): Promise<{ index: number; reason: string; model: string }> {
  const each = Math.floor(ctx.promptChars / (candidates.length + 1));
  const response = await ctx.chat({
    messages: [
      { role: "system", content: "Several workers answered the same task and disagree. Pick the answer that does the task best and is most likely correct." },
      {
        role: "user",
        content: `Task: ${clip(task, each)}\n\n${candidates.map((c, i) => `Answer ${i + 1}:\n"""\n${clip(c, each)}\n"""`).join("\n\n")}`,
      },
    ],
    schema: {
      name: "octo_arbitration",
      schema: {
        type: "object",
        properties: { best: { enum: candidates.map((_, i) => i + 1) }, reason: { type: "string", maxLength: 160 } },
        required: ["best", "reason"],
        additionalProperties: false,
      },
    },
    temperature: 0,
  });
  let parsed: { best?: unknown; reason?: unknown };
  try {
    parsed = parseJsonAnswer(response) as typeof parsed;
  } catch (err) {
    throw armOutputInvalid("judge", (err as Error).message);
  }
  const best = typeof parsed.best === "number" && Number.isInteger(parsed.best) && parsed.best >= 1 && parsed.best <= candidates.length ? parsed.best : 1;
  return { index: best - 1, reason: typeof parsed.reason === "string" ? parsed.reason : "", model: response.model };
}
