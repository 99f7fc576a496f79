/**
 * The coder: generates, explains, fixes or tests code in a named language. The answer's fenced code
 * block is the code. When the language's interpreter is allowed in the sandbox, the coder checks its
 * code there (a syntax check, or a run for tests) and on failure feeds the error back to the model,
 * a few rounds at most; a check still failing is reported as a problem for the judge.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { TaskSandbox } from "../task-sandbox.js";
import { extractCodeBlocks, languageIn, normalizeLanguage, runnerFor, type Runner } from "./code.js";
import { clip, conversation, describeDependencies } from "./prompt.js";
import { inputJsonSchema, type Arm, type ArmContext, type ArmDescriptor } from "./types.js";

export const coderInput = z.object({
  task: z.string().min(1).max(20_000),
  language: z.string().min(1).max(32).optional(),
  mode: z.enum(["generate", "explain", "fix", "test"]).default("generate"),
  /** Existing code (explain, fix, test). */
  code: z.string().max(500_000).optional(),
  /** What went wrong with `code` (fix). */
  error: z.string().max(100_000).optional(),
  /** Material the code is about (files, earlier results). */
  context: z.string().max(1_000_000).optional(),
  /** Check the code in the sandbox: syntax only, a run, or not at all. Default: syntax when possible. */
  check: z.enum(["none", "syntax", "run"]).optional(),
});
export type CoderInput = z.output<typeof coderInput>;

export interface CoderOutput {
  language: string;
  code: string;
  explanation: string;
  blocks: Array<{ language: string | null; code: string }>;
  check: { command: string[]; passed: boolean; exit_code: number | null; output: string; rounds: number } | null;
}

const outputSchema = {
  type: "object",
  properties: {
    language: { type: "string" },
    code: { type: "string" },
    explanation: { type: "string" },
    blocks: { type: "array", items: { type: "object", properties: { language: { type: ["string", "null"] }, code: { type: "string" } }, required: ["language", "code"] } },
    check: {
      type: ["object", "null"],
      properties: {
        command: { type: "array", items: { type: "string" } },
        passed: { type: "boolean" },
        exit_code: { type: ["integer", "null"] },
        output: { type: "string" },
        rounds: { type: "integer" },
      },
    },
  },
  required: ["language", "code", "explanation", "blocks", "check"],
};

export interface CoderDeps {
  sandbox: TaskSandbox;
  model(): { model: string; upstream: string | null };
  maxCheckRounds(): number;
}

export function createCoderArm(deps: CoderDeps): Arm<CoderInput, CoderOutput> {
  return {
    id: "coder",
    input: coderInput,
    async describe(): Promise<ArmDescriptor> {
      const target = deps.model();
      return {
        id: "coder",
        description: "Writes, explains, fixes or tests code in a named language, and checks it in the sandbox when it can.",
        input_schema: inputJsonSchema(coderInput),
        output_schema: outputSchema,
        cost_tier: "high",
        model: target.model,
        upstream: target.upstream,
        plannable: true,
        available: true,
      };
    },

    fromStep({ step, contract, dependencies }) {
      const earlierCode = [...dependencies].reverse().find((d) => typeof (d.output as { code?: unknown } | null)?.code === "string");
      const context = [contract.context.map((c) => `[${c.name ?? "context"}]\n${c.content}`).join("\n\n"), describeDependencies(dependencies, 6000)]
        .filter(Boolean)
        .join("\n\n");
      const mode = /\b(fix|repair|debug)\b/i.test(step.action) && earlierCode ? "fix" : /\bexplain\b/i.test(step.action) ? "explain" : /\btests?\b/i.test(step.action) && earlierCode ? "test" : "generate";
      return {
        task: `${step.action}\n\nOverall goal: ${contract.goal}${contract.constraints.length ? `\nConstraints: ${contract.constraints.join("; ")}` : ""}`,
        language: languageIn(`${step.action} ${contract.goal}`) ?? (earlierCode ? ((earlierCode.output as { language?: string }).language ?? undefined) : undefined),
        mode,
        ...(earlierCode && mode !== "generate" ? { code: (earlierCode.output as { code: string }).code } : {}),
        ...(context ? { context } : {}),
      };
    },

    async run(input, ctx) {
      const language = normalizeLanguage(input.language) ?? languageIn(input.task) ?? "python";
      const status = await deps.sandbox.status();
      const runner = status.available ? runnerFor(language, status.binaries) : null;
      const checkMode = input.check ?? (runner && input.mode !== "explain" ? (input.mode === "test" ? "run" : "syntax") : "none");

      const messages = conversation(systemPrompt(input.mode, language), ctx.examples, userPrompt(input, language, ctx.promptChars), ctx.feedback, ctx.promptChars);
      let response = await ctx.chat({ messages });
      let answer = parseAnswer(response.text, language, input);
      let truncated = response.finishReason === "length";
      let check: CoderOutput["check"] = null;

      if (checkMode !== "none" && runner && answer.code.trim()) {
        const taskId = ctx.taskId ?? `direct-${randomUUID()}`;
        try {
          for (let round = 0; ; round++) {
            const result = await runCheck(deps.sandbox, taskId, runner, answer.code, checkMode, ctx.signal);
            check = { ...result, rounds: round + 1 };
            if (result.passed || round >= deps.maxCheckRounds()) break;
            // Iterate on the failure: the model sees its code and what the check said.
            messages.push(
              { role: "assistant", content: response.text },
              { role: "user", content: `Running \`${result.command.join(" ")}\` failed (exit code ${result.exit_code}):\n${clip(result.output, 2000)}\nFix the code. Answer with the whole corrected code in one fenced block.` },
            );
            response = await ctx.chat({ messages });
            answer = parseAnswer(response.text, language, input);
            truncated = response.finishReason === "length";
          }
        } finally {
          if (ctx.taskId === null) await deps.sandbox.release(taskId);
        }
      }

      const output: CoderOutput = { language, ...answer, check };
      const problems: string[] = [];
      if (input.mode !== "explain" && !answer.code.trim()) problems.push("The answer contains no code.");
      if (check && !check.passed) problems.push(`The check \`${check.command.join(" ")}\` still fails after ${check.rounds} round(s): ${clip(check.output, 400)}`);
      const text = input.mode === "explain" ? answer.explanation : `\`\`\`${language}\n${answer.code}\n\`\`\`${answer.explanation ? `\n${answer.explanation}` : ""}`;
      return { output, text, truncated, problems, confidence: response.confidence };
    },
  };
}

function systemPrompt(mode: CoderInput["mode"], language: string): string {
  switch (mode) {
    case "explain":
      return `You are an expert ${language} programmer. Explain what the code does, clearly and briefly.`;
    case "fix":
      return `You are an expert ${language} programmer. Fix the code. Answer with the whole corrected program in one fenced \`\`\`${language} block, then one or two sentences on what you changed.`;
    case "test":
      return `You are an expert ${language} programmer. Write a self-contained test program for the code: it must include the code under test and exit with a non-zero status when a test fails. Answer with one fenced \`\`\`${language} block, then a sentence on what it tests.`;
    default:
      return `You are an expert ${language} programmer. Write the program the user asks for. Answer with the whole program in one fenced \`\`\`${language} block, then one or two sentences on how it works.`;
  }
}

function userPrompt(input: CoderInput, language: string, maxChars: number): string {
  const parts = [`Task: ${clip(input.task, Math.floor(maxChars / 3))}`, `Language: ${language}`];
  if (input.code) parts.push(`Code:\n\`\`\`${language}\n${clip(input.code, Math.floor(maxChars / 3))}\n\`\`\``);
  if (input.error) parts.push(`Error:\n${clip(input.error, 1500)}`);
  if (input.context) parts.push(`Material:\n${clip(input.context, Math.floor(maxChars / 3))}`);
  return parts.join("\n\n");
}

/** The answer's code (its block in the language, else the longest block, else the whole answer) and the prose around it. */
function parseAnswer(text: string, language: string, input: CoderInput): Pick<CoderOutput, "code" | "explanation" | "blocks"> {
  const blocks = extractCodeBlocks(text);
  if (input.mode === "explain") return { code: input.code ?? "", explanation: text.trim(), blocks };
  if (blocks.length === 0) return { code: text.trim(), explanation: "", blocks };
  const inLanguage = blocks.filter((b) => b.language === language);
  const chosen = (inLanguage.length ? inLanguage : blocks).reduce((a, b) => (b.code.length > a.code.length ? b : a));
  const explanation = text.replace(/^[ \t]*(`{3,}|~{3,})[\s\S]*?(^[ \t]*\1[ \t]*$|$(?![\s\S]))/gm, "").trim();
  return { code: chosen.code, explanation, blocks };
}

async function runCheck(sandbox: TaskSandbox, taskId: string, runner: Runner, code: string, mode: "syntax" | "run", signal: AbortSignal) {
  const argv = mode === "run" ? runner.run : runner.check;
  const result = await sandbox.run(taskId, { argv, files: { [runner.file]: code }, signal });
  const output = [result.stdout, result.stderr].filter((s) => s.trim()).join("\n").trim();
  return { command: argv, passed: result.exitCode === 0 && !result.timedOut, exit_code: result.exitCode, output: result.timedOut ? `timed out\n${output}` : output };
}
