/**
 * Octo's memory: global facts learned from completed tasks (with provenance, searched by the planner)
 * and per-arm episodes (recent successful examples, offered to the arm as few-shot context). Memory
 * helps; it is never needed: every failure here is logged and swallowed, so it cannot fail a task.
 */
import type { Logger } from "../telemetry/logger.js";
import { clip } from "./arms/prompt.js";
import type { StepRecord, TaskContract, TaskResult } from "./contract.js";
import type { Episode, OctoStore } from "./store/types.js";

export interface Memory {
  examples(arm: string, limit: number): Promise<Episode[]>;
  facts(goal: string, limit: number): Promise<string[]>;
  /** A step that passed its checks becomes an example for its arm. */
  rememberStep(taskId: string, step: StepRecord): Promise<void>;
  /** A verified task becomes facts: what plan worked for what goal, and what came of it. */
  rememberTask(taskId: string, contract: TaskContract, steps: readonly StepRecord[], result: TaskResult): Promise<void>;
}

export function createMemory(deps: { store: OctoStore; log: Logger }): Memory {
  const safely = async <T>(what: string, fallback: T, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, `memory: ${what} failed (ignored)`);
      return fallback;
    }
  };
  return {
    examples: (arm, limit) => (limit > 0 ? safely("reading examples", [], () => deps.store.recentEpisodes(arm, limit)) : Promise.resolve([])),
    facts: (goal, limit) =>
      limit > 0 ? safely("searching facts", [], async () => (await deps.store.searchFacts(goal, limit)).map((f) => f.text)) : Promise.resolve([]),
    rememberStep: (taskId, step) =>
      safely("storing an example", undefined, async () => {
        if (!step.judgement?.passed || step.output_text === null) return;
        await deps.store.addEpisode({
          arm: step.arm,
          input: clip(step.action, 2000),
          output: clip(step.output_text, 2000),
          task_id: taskId,
          model: step.provenance?.models[0] ?? null,
        });
      }),
    rememberTask: (taskId, contract, steps, result) =>
      safely("storing facts", undefined, async () => {
        if (!result.verified) return;
        const models = [...new Set(steps.flatMap((s) => s.provenance?.models ?? []))];
        const plan = steps.map((s) => `${s.arm}: ${clip(s.action, 120)}`).join("; ");
        await deps.store.addFact({
          text: `For the goal "${clip(contract.goal, 300)}" this plan worked: ${plan}.`,
          task_id: taskId,
          provenance: { kind: "plan", task_id: taskId, models },
        });
        await deps.store.addFact({
          text: `Result of "${clip(contract.goal, 200)}": ${clip(result.text, 400)}`,
          task_id: taskId,
          provenance: { kind: "result", task_id: taskId, models },
        });
      }),
  };
}
