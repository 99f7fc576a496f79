/**
 * An install or uninstall as a list of steps, computed first and then either printed (`--dry-run`)
 * or carried out. Keeping the two apart is what makes the service logic testable and the dry run honest.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { CliError } from "../errors.js";
import { formatCommand, type CommandRunner } from "./command-runner.js";

export type Step =
  | { kind: "mkdir"; path: string }
  | { kind: "write"; path: string; content: string }
  | { kind: "remove"; path: string }
  /** `mayFail`: a step that is fine to fail (stopping what is not running). */
  | { kind: "run"; command: string; args: string[]; mayFail?: boolean };

export interface StepLog {
  step: Step;
  ok: boolean;
  output?: string;
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case "mkdir":
      return `mkdir -p ${step.path}`;
    case "write":
      return `write ${step.path}`;
    case "remove":
      return `rm -f ${step.path}`;
    case "run":
      return formatCommand(step.command, step.args);
  }
}

/** What `--dry-run` prints: each step, with the files' contents in full. */
export function renderPlan(steps: readonly Step[]): string {
  return steps
    .map((step) => (step.kind === "write" ? `# ${describeStep(step)}:\n${step.content.trimEnd()}\n# (end of ${step.path})` : `$ ${describeStep(step)}`))
    .join("\n");
}

/**
 * Carries the steps out in order and stops at the first failure, naming the command and its error;
 * `hint` adds what usually causes it (no systemd user session, …).
 */
export async function executePlan(steps: readonly Step[], runner: CommandRunner, hint = ""): Promise<StepLog[]> {
  const log: StepLog[] = [];
  for (const step of steps) {
    if (step.kind === "mkdir") mkdirSync(step.path, { recursive: true });
    else if (step.kind === "write") writeFileSync(step.path, step.content, { mode: 0o644 });
    else if (step.kind === "remove") rmSync(step.path, { force: true });
    else {
      const result = await runner(step.command, step.args);
      const output = (result.stderr || result.stdout).trim();
      log.push({ step, ok: result.code === 0, output });
      if (result.code !== 0 && !step.mayFail) {
        throw new CliError(`\`${describeStep(step)}\` failed (exit ${result.code})${output ? `: ${output.split("\n")[0]}` : ""}${hint ? `\n${hint}` : ""}`);
      }
      continue;
    }
    log.push({ step, ok: true });
  }
  return log;
}
