/**
 * The planner: a goal → 1..N steps `{id, arm, action, acceptance_criteria, depends_on}` as JSON under
 * a grammar (so the structure is always valid), then checked as a DAG over known arms (plan.ts). A plan
 * with faults is sent back once with the faults listed; what is still wrong after that is repaired.
 */
import { z } from "zod";
import type { Plan } from "../contract.js";
import { armOutputInvalid } from "../errors.js";
import { parseJsonAnswer, type JsonSchema } from "../llm.js";
import { checkPlan } from "../plan.js";
import { conversation, describeTask } from "./prompt.js";
import { inputJsonSchema, type Arm, type ArmContext, type ArmDescriptor } from "./types.js";

export const plannerInput = z.object({
  goal: z.string().min(1).max(20_000),
  constraints: z.array(z.string()).default([]),
  context: z.array(z.object({ name: z.string().optional(), content: z.string() })).default([]),
  acceptance_criteria: z.array(z.string()).default([]),
  /** Facts from past tasks that may help. */
  memory: z.array(z.string()).default([]),
});
export type PlannerInput = z.output<typeof plannerInput>;

export interface PlannerDeps {
  /** The arms steps may go to, with what each does. */
  plannableArms(): Promise<Array<{ id: string; description: string }>>;
  maxSteps(): number;
  model(): { model: string; upstream: string | null };
}

/** The JSON Schema the grammar enforces; string lengths bound what a rambling model can write. */
export function planSchema(arms: readonly string[], maxSteps: number): JsonSchema {
  const id = { type: "string", minLength: 1, maxLength: 24 };
  return {
    type: "object",
    properties: {
      steps: {
        type: "array",
        minItems: 1,
        maxItems: maxSteps,
        items: {
          type: "object",
          properties: {
            id,
            arm: { enum: [...arms] },
            action: { type: "string", minLength: 1, maxLength: 240 },
            acceptance_criteria: { type: "array", maxItems: 3, items: { type: "string", minLength: 1, maxLength: 120 } },
            depends_on: { type: "array", maxItems: 4, items: id },
            swarm: { type: "boolean" },
          },
          required: ["id", "arm", "action", "acceptance_criteria", "depends_on", "swarm"],
          additionalProperties: false,
        },
      },
    },
    required: ["steps"],
    additionalProperties: false,
  };
}

const planOutputSchema: JsonSchema = {
  type: "object",
  properties: {
    steps: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          arm: { type: "string" },
          action: { type: "string" },
          acceptance_criteria: { type: "array", items: { type: "string" } },
          depends_on: { type: "array", items: { type: "string" } },
          swarm: { type: "boolean" },
        },
        required: ["id", "arm", "action", "acceptance_criteria", "depends_on"],
      },
    },
    repairs: { type: "array", items: { type: "string" } },
    model: { type: ["string", "null"] },
  },
  required: ["steps", "repairs", "model"],
};

export function createPlannerArm(deps: PlannerDeps): Arm<PlannerInput, Plan> {
  return {
    id: "planner",
    input: plannerInput,
    async describe(): Promise<ArmDescriptor> {
      const target = deps.model();
      return {
        id: "planner",
        description: "Decomposes a goal into a plan: steps for the other arms, with acceptance criteria and dependencies (a DAG).",
        input_schema: inputJsonSchema(plannerInput),
        output_schema: planOutputSchema,
        cost_tier: "medium",
        model: target.model,
        upstream: target.upstream,
        plannable: false,
        available: true,
      };
    },
    async run(input, ctx) {
      const arms = await deps.plannableArms();
      const ids = arms.map((a) => a.id);
      const maxSteps = deps.maxSteps();
      const schema = { name: "octo_plan", schema: planSchema(ids, maxSteps) };
      const system = [
        "You are the planner of a team of specialist workers. Break the user's goal into the fewest steps that reach it",
        `(at most ${maxSteps}). Each step goes to one worker:`,
        ...arms.map((a) => `- ${a.id}: ${a.description}`),
        "A step lists the ids of the steps whose results it needs in depends_on; they must come before it.",
        "Give each step short, checkable acceptance criteria. Set swarm to true only for a step whose answer is a hard decision.",
        "Answer with the plan as JSON.",
      ].join("\n");
      const memory = input.memory.length ? `\nWhat was learned from earlier tasks:\n${input.memory.map((m) => `- ${m}`).join("\n")}` : "";
      const user = `${describeTask(input, ctx.promptChars)}${memory}`;

      let first = await ask(ctx, system, user, ctx.feedback, schema);
      if (first.raw === undefined) {
        // Cut off at the token limit: once more, asking for a plan half as long.
        const shorter = Math.max(1, Math.floor(maxSteps / 2));
        first = await ask(ctx, system, user, [...ctx.feedback, `Your plan was too long to finish. Use at most ${shorter} step(s) with short actions.`], {
          name: "octo_plan",
          schema: planSchema(ids, shorter),
        });
        if (first.raw === undefined) throw armOutputInvalid("planner", "the plan was cut off at the token limit twice");
      }
      let check = checkPlan(first.raw, { arms: ids, maxSteps, fallbackArm: fallback(ids) });
      let model = first.model;
      if (check.errors.length > 0) {
        // Once, the plan goes back to the model with its faults; then whatever is left is repaired.
        const second = await ask(ctx, system, user, [...ctx.feedback, ...check.errors], schema).catch((err: unknown) => {
          if (ctx.signal.aborted) throw err;
          return null;
        });
        if (second?.raw !== undefined) {
          const again = checkPlan(second.raw, { arms: ids, maxSteps, fallbackArm: fallback(ids) });
          if (again.steps.length > 0 && again.errors.length <= check.errors.length) {
            check = again;
            model = second.model;
          }
        }
      }
      if (check.steps.length === 0) throw armOutputInvalid("planner", check.errors.join(" ") || "the plan has no usable steps");
      const plan: Plan = { steps: check.steps, repairs: check.repairs, model };
      return {
        output: plan,
        text: plan.steps.map((s) => `${s.id} [${s.arm}] ${s.action}${s.depends_on.length ? ` (after ${s.depends_on.join(", ")})` : ""}`).join("\n"),
        truncated: first.truncated,
      };
    },
  };
}

function fallback(arms: readonly string[]): string {
  return arms.includes("writer") ? "writer" : arms[0];
}

/** One plan from the model; `raw` is undefined when the answer was cut off before its JSON ended. */
async function ask(ctx: ArmContext, system: string, user: string, feedback: readonly string[], schema: { name: string; schema: JsonSchema }) {
  const response = await ctx.chat({ messages: conversation(system, ctx.examples, user, feedback, ctx.promptChars), schema });
  const truncated = response.finishReason === "length";
  let raw: unknown;
  try {
    raw = parseJsonAnswer(response);
  } catch (err) {
    if (!truncated) throw armOutputInvalid("planner", (err as Error).message);
    raw = undefined;
  }
  return { raw, model: response.model, truncated };
}
