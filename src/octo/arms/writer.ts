/**
 * The writer: general text work (summarise, explain, draft, compare, answer) and the integration of a
 * plan's results into the final answer. With a JSON Schema it answers as JSON under a grammar.
 */
import { z } from "zod";
import { armOutputInvalid } from "../errors.js";
import { parseJsonAnswer } from "../llm.js";
import { clip, conversation, describeDependencies, describeTask } from "./prompt.js";
import { inputJsonSchema, type Arm, type ArmDescriptor } from "./types.js";

export const writerInput = z.object({
  instruction: z.string().min(1).max(20_000),
  /** Material to work from. */
  context: z.string().max(1_000_000).optional(),
  /** Answer as JSON matching this schema. */
  schema: z.record(z.string(), z.unknown()).optional(),
});
export type WriterInput = z.output<typeof writerInput>;

export interface WriterOutput {
  text: string;
  /** The parsed answer, when a schema was given. */
  json?: unknown;
}

export function createWriterArm(deps: { model(): { model: string; upstream: string | null } }): Arm<WriterInput, WriterOutput> {
  return {
    id: "writer",
    input: writerInput,
    async describe(): Promise<ArmDescriptor> {
      const target = deps.model();
      return {
        id: "writer",
        description: "Writes text: summarises, explains, drafts, compares or answers from the material it is given; also combines results into a final answer.",
        input_schema: inputJsonSchema(writerInput),
        output_schema: { type: "object", properties: { text: { type: "string" }, json: {} }, required: ["text"] },
        cost_tier: "medium",
        model: target.model,
        upstream: target.upstream,
        plannable: true,
        available: true,
      };
    },

    fromStep({ step, contract, dependencies }) {
      const material = [describeTask({ ...contract, acceptance_criteria: step.acceptance_criteria }, 6000), describeDependencies(dependencies, 6000)].filter(Boolean).join("\n\n");
      return { instruction: step.action, context: material };
    },

    async run(input, ctx) {
      const user = `${input.instruction}${input.context ? `\n\n${clip(input.context, ctx.promptChars)}` : ""}`;
      const system = input.schema
        ? "You are a careful writer. Do what the user asks, from the material given. Answer as JSON."
        : "You are a careful writer. Do what the user asks, from the material given, clearly and without padding.";
      const response = await ctx.chat({
        messages: conversation(system, ctx.examples, user, ctx.feedback, ctx.promptChars),
        ...(input.schema ? { schema: { name: "octo_answer", schema: input.schema } } : {}),
        logprobs: !input.schema,
      });
      let json: unknown;
      if (input.schema) {
        try {
          json = parseJsonAnswer(response);
        } catch (err) {
          throw armOutputInvalid("writer", (err as Error).message);
        }
      }
      const text = response.text.trim();
      return {
        output: input.schema ? { text, json } : { text },
        text,
        truncated: response.finishReason === "length",
        confidence: response.confidence,
        discrete: text.length <= 40 ? text.toLowerCase().replace(/[.!\s]+$/g, "") : null,
      };
    },
  };
}

