/**
 * The executor: runs commands in the task's sandbox (task-sandbox.ts): argv only, allow-listed
 * binaries, the task's own work dir and capability token. Given a plan step, it runs the code an
 * earlier step produced with that language's interpreter, or asks its model for one command under a
 * grammar whose program is one of the allowed binaries.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { invalidRequest } from "../../errors.js";
import { armOutputInvalid } from "../errors.js";
import { parseJsonAnswer } from "../llm.js";
import type { TaskSandbox } from "../task-sandbox.js";
import { runnerFor } from "./code.js";
import { clip, describeDependencies } from "./prompt.js";
import { inputJsonSchema, type Arm, type ArmContext, type ArmDescriptor } from "./types.js";

export const executorInput = z
  .object({
    /** The command: argv[0] an allowed binary, the rest passed literally (no shell). */
    argv: z.array(z.string().max(100_000)).min(1).max(256).optional(),
    /** Code to run with its language's interpreter (instead of argv). */
    code: z.object({ language: z.string().min(1), source: z.string().max(1_000_000) }).optional(),
    /** What to do, in words: the model turns it into a command (plan steps). */
    instruction: z.string().max(20_000).optional(),
    /** Files to put in the work dir first (relative path → content). */
    files: z.record(z.string(), z.string().max(1_000_000)).default({}),
    stdin: z.string().max(1_000_000).optional(),
  })
  .refine((v) => v.argv !== undefined || v.code !== undefined || v.instruction !== undefined, "give argv, code or instruction");
export type ExecutorInput = z.output<typeof executorInput>;

export interface ExecutorOutput {
  argv: string[];
  exit_code: number | null;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  truncated: boolean;
  sandboxed: boolean;
  duration_ms: number;
}

const outputSchema = {
  type: "object",
  properties: {
    argv: { type: "array", items: { type: "string" } },
    exit_code: { type: ["integer", "null"] },
    stdout: { type: "string" },
    stderr: { type: "string" },
    timed_out: { type: "boolean" },
    truncated: { type: "boolean" },
    sandboxed: { type: "boolean" },
    duration_ms: { type: "number" },
  },
  required: ["argv", "exit_code", "stdout", "stderr", "timed_out", "truncated", "sandboxed", "duration_ms"],
};

export function createExecutorArm(deps: { sandbox: TaskSandbox; model(): { model: string; upstream: string | null } }): Arm<ExecutorInput, ExecutorOutput> {
  return {
    id: "executor",
    input: executorInput,
    async describe(): Promise<ArmDescriptor> {
      const status = await deps.sandbox.status();
      const target = deps.model();
      return {
        id: "executor",
        description: `Runs a program in an isolated sandbox (no network, only the task's work dir) and reports its exit code and output. Programs: ${status.binaries.join(", ") || "none"}.`,
        input_schema: inputJsonSchema(executorInput),
        output_schema: outputSchema,
        cost_tier: "low",
        model: target.model,
        upstream: target.upstream,
        plannable: true,
        available: status.available && status.binaries.length > 0,
        ...(status.available ? {} : { unavailable_reason: status.reason }),
      };
    },

    fromStep({ step, contract, dependencies }) {
      // The latest earlier result carrying code is what "run it" means.
      for (const dep of [...dependencies].reverse()) {
        const out = dep.output as { code?: unknown; language?: unknown } | null;
        if (out && typeof out.code === "string" && out.code.trim() && typeof out.language === "string") {
          return { code: { language: out.language, source: out.code }, files: {} };
        }
      }
      const material = describeDependencies(dependencies, 4000);
      return { instruction: `${step.action}\n\nOverall goal: ${contract.goal}${material ? `\n\n${material}` : ""}`, files: {} };
    },

    async run(input, ctx) {
      const status = await deps.sandbox.status();
      let argv = input.argv;
      const files = { ...input.files };
      if (!argv && input.code) {
        const runner = runnerFor(input.code.language.toLowerCase(), status.binaries);
        if (!runner) {
          throw invalidRequest(`No allowed interpreter runs ${input.code.language} code here (allowed: ${status.binaries.join(", ") || "none"}).`, "code.language", "language_not_runnable");
        }
        files[runner.file] = input.code.source;
        argv = runner.run;
      }
      if (!argv) argv = await commandFor(ctx, input.instruction ?? "", status.binaries);
      const taskId = ctx.taskId ?? `direct-${randomUUID()}`;
      try {
        const result = await deps.sandbox.run(taskId, { argv, files, stdin: input.stdin, signal: ctx.signal });
        const output: ExecutorOutput = {
          argv,
          exit_code: result.exitCode,
          stdout: result.stdout,
          stderr: result.stderr,
          timed_out: result.timedOut,
          truncated: result.truncated,
          sandboxed: result.sandboxed,
          duration_ms: Math.round(result.durationMs),
        };
        const problems: string[] = [];
        if (result.timedOut) problems.push("The command timed out.");
        else if (result.exitCode !== 0) problems.push(`The command exited with ${result.exitCode}: ${clip(result.stderr.trim() || result.stdout.trim(), 400)}`);
        return {
          output,
          text: [`$ ${argv.join(" ")}`, `exit code: ${result.exitCode ?? "killed"}${result.timedOut ? " (timed out)" : ""}`, result.stdout && `stdout:\n${clip(result.stdout, 4000)}`, result.stderr && `stderr:\n${clip(result.stderr, 2000)}`]
            .filter(Boolean)
            .join("\n"),
          problems,
          discrete: String(result.exitCode),
        };
      } finally {
        // A direct call's work dir lives only for the call; a task's until the task ends.
        if (ctx.taskId === null) await deps.sandbox.release(taskId);
      }
    },
  };
}

/** One command for an instruction, under a grammar: the program is an allowed binary, then its arguments. */
async function commandFor(ctx: ArmContext, instruction: string, binaries: readonly string[]): Promise<string[]> {
  if (binaries.length === 0) throw invalidRequest("The executor has no allowed programs.", "argv", "no_binaries");
  const response = await ctx.chat({
    messages: [
      {
        role: "system",
        content: `Turn the instruction into one command, run without a shell in an empty directory without network. The program must be one of: ${binaries.join(", ")}. Each argument is passed literally.`,
      },
      { role: "user", content: clip(instruction, ctx.promptChars) + (ctx.feedback.length ? `\n\nThe previous command failed:\n${ctx.feedback.join("\n")}` : "") },
    ],
    schema: {
      name: "octo_command",
      schema: {
        type: "object",
        properties: { program: { enum: [...binaries] }, args: { type: "array", maxItems: 6, items: { type: "string", maxLength: 64 } } },
        required: ["program", "args"],
        additionalProperties: false,
      },
    },
    temperature: 0,
  });
  let parsed: { program?: unknown; args?: unknown };
  try {
    parsed = parseJsonAnswer(response) as typeof parsed;
  } catch (err) {
    throw armOutputInvalid("executor", (err as Error).message);
  }
  if (typeof parsed.program !== "string" || !binaries.includes(parsed.program)) throw armOutputInvalid("executor", "the command's program is not an allowed binary");
  const args = Array.isArray(parsed.args) ? parsed.args.filter((a): a is string => typeof a === "string") : [];
  return [parsed.program, ...args];
}
