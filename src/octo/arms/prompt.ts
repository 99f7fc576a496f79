/** Pieces of arm prompts: the task, earlier results, examples and repair feedback, each bounded in size. */
import type { ChatMessage } from "../../engine/types.js";
import type { TaskContract } from "../contract.js";
import type { Episode } from "../store/types.js";
import type { StepInput } from "./types.js";

/** Keeps the head and tail of a long text: the start says what it is, the end often how it ends. */
export function clip(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const keep = Math.max(0, maxChars - 40);
  const head = Math.ceil(keep * 0.6);
  const tail = keep - head;
  return `${text.slice(0, head)}\n…[${text.length - keep} characters omitted]…\n${tail > 0 ? text.slice(-tail) : ""}`;
}

/** The task as a block of text, its context pieces sharing `maxChars`. */
export function describeTask(contract: Pick<TaskContract, "goal" | "constraints" | "context" | "acceptance_criteria">, maxChars: number): string {
  const lines = [`Goal: ${clip(contract.goal, Math.floor(maxChars / 4))}`];
  if (contract.constraints.length) lines.push(`Constraints:\n${contract.constraints.map((c) => `- ${c}`).join("\n")}`);
  if (contract.acceptance_criteria.length) lines.push(`Acceptance criteria:\n${contract.acceptance_criteria.map((c) => `- ${c}`).join("\n")}`);
  const used = lines.join("\n").length;
  if (contract.context.length) {
    const each = Math.max(200, Math.floor((maxChars - used) / contract.context.length));
    lines.push(`Context:\n${contract.context.map((c, i) => `[${c.name ?? `context ${i + 1}`}]\n${clip(c.content, each)}`).join("\n\n")}`);
  }
  return lines.join("\n");
}

/** Earlier steps' results, sharing `maxChars`. */
export function describeDependencies(dependencies: StepInput["dependencies"], maxChars: number): string {
  if (dependencies.length === 0) return "";
  const each = Math.max(200, Math.floor(maxChars / dependencies.length));
  return `Results of earlier steps:\n${dependencies.map((d) => `[${d.step.id}: ${d.step.action}]\n${clip(d.text, each)}`).join("\n\n")}`;
}

/** Past successful examples as user/assistant turns (oldest first, as a conversation reads). */
export function fewShot(examples: readonly Episode[], maxChars: number): ChatMessage[] {
  const out: ChatMessage[] = [];
  const each = Math.max(100, Math.floor(maxChars / Math.max(1, examples.length * 2)));
  for (const example of [...examples].reverse()) {
    out.push({ role: "user", content: clip(example.input, each) }, { role: "assistant", content: clip(example.output, each) });
  }
  return out;
}

/** A repair: what the judge found wrong with the previous attempt. */
export function feedbackNote(feedback: readonly string[]): string {
  if (feedback.length === 0) return "";
  return `\n\nYour previous attempt was rejected. Fix these problems:\n${feedback.map((f) => `- ${f}`).join("\n")}`;
}

/** The conversation for one arm call: system prompt, few-shot examples, then the request. */
export function conversation(system: string, examples: readonly Episode[], user: string, feedback: readonly string[], maxChars: number): ChatMessage[] {
  return [
    { role: "system", content: system },
    ...fewShot(examples, Math.floor(maxChars / 4)),
    { role: "user", content: `${user}${feedbackNote(feedback)}` },
  ];
}
