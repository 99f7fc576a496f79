/**
 * One task, start to end: reflex screening of the goal and context → a plan (planner arm, or the
 * stored plan when resuming) → the plan's DAG, ready steps in parallel up to a limit (step-runner.ts)
 * → the final answer integrated and judged against the task's criteria → the guardian → stored with
 * its provenance. Budgets stop it cleanly; cancellation and shutdown abort every generation at once.
 * Completed steps survive a restart, so a resumed task continues after its last completed step.
 */
import { isAbortError, LmxError } from "../errors.js";
import type { Logger } from "../telemetry/logger.js";
import { armContext } from "./arm-context.js";
import type { ArmRegistry, Guardian } from "./arms/index.js";
import type { Arm, StepInput } from "./arms/types.js";
import { meteredLlm, TaskBudget } from "./budget.js";
import type { OctoConfig } from "./config.js";
import { PRIORITY_RANK, type Judgement, type Plan, type PlanStep, type StepRecord, type TaskResult } from "./contract.js";
import { taskInterrupted, toTaskError } from "./errors.js";
import type { ModelGateway } from "./llm/gateway.js";
import type { Memory } from "./memory.js";
import { readySteps, terminalSteps } from "./plan.js";
import { runStep, type TaskRun } from "./step-runner.js";
import type { OctoStore, StoredTask } from "./store/types.js";
import type { TaskEvents } from "./task-events.js";
import type { TaskSandbox } from "./task-sandbox.js";

export interface RunTaskDeps {
  store: OctoStore;
  arms: ArmRegistry;
  gateway: ModelGateway;
  guardian: Guardian;
  memory: Memory;
  events: TaskEvents;
  sandbox: TaskSandbox;
  config: () => OctoConfig;
  log: Logger;
}

/** Why a task's controller was aborted, when not by its budget. */
export const SHUTDOWN = Symbol("shutdown");

export async function runTask(deps: RunTaskDeps, task: StoredTask, controller: AbortController): Promise<void> {
  const config = deps.config();
  const log = deps.log.child({ task: task.id });
  const contract = task.contract;
  const defaults = config.default_budget;
  const budget = new TaskBudget(
    {
      maxTokens: contract.budget.max_tokens ?? defaults.max_tokens,
      maxTimeMs: (contract.budget.max_time_seconds ?? defaults.max_time_seconds) * 1000,
      maxSteps: contract.budget.max_steps ?? defaults.max_steps,
    },
    { tokens: task.prompt_tokens + task.completion_tokens, elapsedMs: task.elapsed_ms, steps: task.steps_run },
    (error) => controller.abort(error),
  );
  const run: TaskRun = {
    taskId: task.id,
    contract,
    budget,
    signal: controller.signal,
    priority: PRIORITY_RANK[task.priority],
    swarmAll: config.swarm.priorities.includes(task.priority),
    usage: { promptTokens: task.prompt_tokens, completionTokens: task.completion_tokens },
  };
  const progress = () => {
    const used = budget.usage();
    return { prompt_tokens: run.usage.promptTokens, completion_tokens: run.usage.completionTokens, steps_run: used.steps, elapsed_ms: used.elapsedMs };
  };
  const resuming = task.status !== "pending";

  try {
    if (resuming && (config.on_restart === "fail" || task.resumes > config.max_resumes)) {
      throw taskInterrupted(
        config.on_restart === "fail"
          ? "LMX stopped while the task ran, and octo.on_restart is 'fail'."
          : `LMX stopped while the task ran ${task.resumes} times (octo.max_resumes is ${config.max_resumes}); it was not resumed again.`,
      );
    }
    budget.start();
    const startedAt = task.started_at ?? Date.now();
    if (resuming) await deps.events.emit(task.id, "resumed", { resumes: task.resumes, steps_done: (await deps.store.listSteps(task.id)).filter((s) => s.status === "completed").length });

    // 1. Reflex: the goal and context on the way in.
    if (!task.plan) {
      await deps.store.updateTask(task.id, { status: "planning", started_at: startedAt });
      const screen = deps.guardian.screenIngress([
        { where: "goal", text: contract.goal },
        ...contract.constraints.map((text, i) => ({ where: `constraints[${i}]`, text })),
        ...contract.context.map((c, i) => ({ where: `context[${i}]`, text: `${c.name ?? ""}\n${c.content}` })),
      ]);
      await deps.events.emit(task.id, "screened", { findings: screen.findings, pii: screen.pii });
    }

    // 2. The plan: made once, then kept (a resumed task follows the plan it started with).
    let plan = task.plan;
    if (!plan) {
      plan = await makePlan(deps, run, log);
      budget.requireSteps(plan.steps.length, `the plan of ${plan.steps.length} steps`);
      const records = plan.steps.map((step, position) => newRecord(step, position));
      await deps.store.saveSteps(task.id, records);
      await deps.store.updateTask(task.id, { plan, status: "running", ...progress() });
      await deps.events.emit(task.id, "planned", { steps: plan.steps, repairs: plan.repairs });
    } else {
      await deps.store.updateTask(task.id, { status: "running" });
    }

    // 3. The DAG.
    const records = await runDag(deps, run, plan, log, {
      onProgress: async () => deps.store.updateTask(task.id, progress()),
      abort: (err) => controller.abort(err),
    });

    // 4-5. The final answer, judged, then through the guardian.
    const result = await finish(deps, run, plan, records, log);
    budget.stop();
    await deps.store.updateTask(task.id, { status: "completed", result, finished_at: Date.now(), owner: null, lease_until: null, ...progress() });
    await deps.events.emit(task.id, "completed", { result, tokens: tokenTotals(run), elapsed_ms: budget.elapsedMs() });
    await deps.memory.rememberTask(task.id, contract, records, result);
  } catch (err) {
    budget.stop();
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
    if (reason === SHUTDOWN) {
      // LMX is stopping: leave the task as it is, unowned, for the next start to resume.
      await deps.store.updateTask(task.id, { owner: null, lease_until: null, ...progress() }).catch((e: unknown) => log.error({ err: e }, "task not released"));
      return;
    }
    const cancelled = reason instanceof LmxError && reason.code === "cancelled";
    const error = toTaskError(reason);
    if (error.code === "internal_error") log.error({ err }, "task failed unexpectedly");
    const failedStep = (await deps.store.listSteps(task.id).catch(() => [])).find((s) => s.status === "failed" || s.status === "running");
    if (failedStep && !error.step) error.step = failedStep.id;
    await markUnfinishedSteps(deps, task.id);
    await deps.store.updateTask(task.id, { status: cancelled ? "cancelled" : "failed", error, finished_at: Date.now(), owner: null, lease_until: null, ...progress() });
    await deps.events.emit(task.id, cancelled ? "cancelled" : "failed", { error, tokens: tokenTotals(run), elapsed_ms: budget.elapsedMs() });
  } finally {
    await deps.sandbox.release(task.id).catch(() => {});
  }
}

function tokenTotals(run: TaskRun) {
  const { promptTokens: prompt, completionTokens: completion } = run.usage;
  return { prompt, completion, total: prompt + completion };
}

function newRecord(step: PlanStep, position: number): StepRecord {
  return {
    id: step.id,
    position,
    arm: step.arm,
    action: step.action,
    acceptance_criteria: step.acceptance_criteria,
    depends_on: step.depends_on,
    swarm: step.swarm === true,
    status: "pending",
    output: null,
    output_text: null,
    judgement: null,
    attempts: 0,
    provenance: null,
    error: null,
    started_at: null,
    finished_at: null,
  };
}

/** Steps cut short by the task's end are marked skipped, so the record says what never ran. */
async function markUnfinishedSteps(deps: RunTaskDeps, taskId: string): Promise<void> {
  try {
    for (const step of await deps.store.listSteps(taskId)) {
      if (step.status === "pending" || step.status === "running") await deps.store.updateStep(taskId, { ...step, status: "skipped" });
    }
  } catch (err) {
    deps.log.warn({ err, taskId }, "steps not marked skipped");
  }
}

/**
 * The planner, with bounded retries; a planner that cannot produce a usable plan at all (a model too
 * weak for the structure) leaves a one-step plan: the writer does the goal directly.
 */
async function makePlan(deps: RunTaskDeps, run: TaskRun, log: Logger): Promise<Plan> {
  const config = deps.config();
  const planner = deps.arms.get("planner") as Arm;
  const facts = await deps.memory.facts(run.contract.goal, config.memory.facts_for_planner);
  const examples = await deps.memory.examples("planner", config.memory.episodic_examples);
  let feedback: string[] = [];
  for (let attempt = 0; attempt <= config.max_repairs; attempt++) {
    try {
      const input = planner.input.parse({ ...run.contract, memory: facts });
      const out = await planner.run(
        input,
        armContext(deps.gateway, "planner", {
          signal: run.signal,
          taskId: run.taskId,
          wrap: (llm) => meteredLlm(llm, run.budget, { priority: run.priority, onUsage: (u) => addTo(run, u) }),
          examples,
          feedback,
          promptChars: config.prompt_chars,
          log,
        }),
      );
      return out.output as Plan;
    } catch (err) {
      if (run.signal.aborted || isAbortError(err) || (err instanceof LmxError && (err.code === "budget_exceeded" || err.status === 404 || err.status === 503))) throw err;
      log.warn({ err: (err as Error).message, attempt }, "planning failed");
      feedback = [`The previous plan could not be used: ${(err as Error).message}`];
    }
  }
  return {
    steps: [{ id: "answer", arm: "writer", action: run.contract.goal, acceptance_criteria: run.contract.acceptance_criteria, depends_on: [] }],
    repairs: ["the planner gave no usable plan; the writer does the goal in one step"],
    model: null,
  };
}

function addTo(run: TaskRun, usage: { promptTokens: number; completionTokens: number }) {
  run.usage.promptTokens += usage.promptTokens;
  run.usage.completionTokens += usage.completionTokens;
}

/**
 * Runs the plan's steps as their dependencies complete, up to max_parallel_steps at once. A step
 * that fails aborts the others (the task fails). Steps completed before a restart are not run again.
 */
async function runDag(
  deps: RunTaskDeps,
  run: TaskRun,
  plan: Plan,
  log: Logger,
  hooks: { onProgress(): Promise<void>; abort(reason: unknown): void },
): Promise<StepRecord[]> {
  const stored = new Map((await deps.store.listSteps(run.taskId)).map((r) => [r.id, r]));
  const records = new Map<string, StepRecord>();
  plan.steps.forEach((step, position) => {
    const existing = stored.get(step.id);
    // A step that was running when LMX stopped starts over; its earlier attempts still count.
    records.set(step.id, existing && existing.status === "completed" ? existing : { ...(existing ?? newRecord(step, position)), status: "pending" });
  });
  const done = new Set([...records.values()].filter((r) => r.status === "completed").map((r) => r.id));
  const started = new Set(done);
  const running = new Map<string, Promise<void>>();
  const limit = Math.max(1, deps.config().max_parallel_steps);
  let failure: unknown = null;

  const save = (record: StepRecord) => deps.store.updateStep(run.taskId, record);
  const stepDeps = { arms: deps.arms, gateway: deps.gateway, memory: deps.memory, events: deps.events, config: deps.config, log, save };
  while (done.size < plan.steps.length) {
    if (failure === null) {
      for (const step of readySteps(plan.steps, done, started)) {
        if (running.size >= limit) break;
        started.add(step.id);
        const dependencies: StepInput["dependencies"] = step.depends_on.map((id) => {
          const dep = records.get(id) as StepRecord;
          return { step: plan.steps.find((s) => s.id === id) as PlanStep, text: dep.output_text ?? "", output: dep.output };
        });
        const work = runStep(stepDeps, run, records.get(step.id) as StepRecord, step, dependencies)
          .then(async (record) => {
            records.set(step.id, record);
            done.add(step.id);
            await hooks.onProgress();
          })
          .catch((err: unknown) => {
            // The first failure ends the task: the other running steps are aborted with it.
            if (failure === null) {
              failure = err;
              hooks.abort(err);
            }
          })
          .finally(() => running.delete(step.id));
        running.set(step.id, work);
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure !== null) throw failure;
  if (done.size < plan.steps.length) throw new Error("the plan could not be completed: some steps never became ready");
  return plan.steps.map((s) => records.get(s.id) as StepRecord);
}

/** The final answer: the plan's last results integrated (or the one result as is), judged, repaired, guarded. */
async function finish(deps: RunTaskDeps, run: TaskRun, plan: Plan, records: StepRecord[], log: Logger): Promise<TaskResult> {
  const config = deps.config();
  const contract = run.contract;
  const terminals = terminalSteps(plan.steps).map((s) => records.find((r) => r.id === s.id) as StepRecord);
  const writer = deps.arms.get("writer") as Arm;
  const judgeArm = deps.arms.get("judge") as Arm;
  const options = (feedback: string[]) => ({
    signal: run.signal,
    taskId: run.taskId,
    wrap: (llm: Parameters<typeof meteredLlm>[0]) => meteredLlm(llm, run.budget, { priority: run.priority, onUsage: (u) => addTo(run, u) }),
    feedback,
    promptChars: config.prompt_chars,
    log,
  });
  const integrate = async (feedback: string[]): Promise<{ output: unknown; text: string; truncated: boolean }> => {
    const material = terminals.map((r) => `[${r.id}: ${r.action}]\n${r.output_text ?? ""}`).join("\n\n");
    const input = writer.input.parse({
      instruction: `Give the final answer to this goal, from the results below.\nGoal: ${contract.goal}${
        contract.acceptance_criteria.length ? `\nThe answer must meet:\n${contract.acceptance_criteria.map((c) => `- ${c}`).join("\n")}` : ""
      }`,
      context: material,
      ...(contract.output_schema ? { schema: contract.output_schema } : {}),
    });
    const out = await writer.run(input, armContext(deps.gateway, "writer", options(feedback)));
    const produced = out.output as { text: string; json?: unknown };
    return { output: contract.output_schema ? produced.json : produced.text, text: out.text, truncated: out.truncated ?? false };
  };

  // One result and nothing to reshape: it is the answer. Otherwise the writer integrates.
  let final: { output: unknown; text: string; truncated: boolean } =
    terminals.length === 1 && !contract.output_schema
      ? { output: terminals[0].output_text ?? "", text: terminals[0].output_text ?? "", truncated: false }
      : await integrate([]);
  let verdict: Judgement | null = null;
  if (contract.acceptance_criteria.length > 0 || contract.output_schema) {
    for (let attempt = 0; ; attempt++) {
      const input = judgeArm.input.parse({
        output: contract.output_schema ? final.output : final.text,
        criteria: contract.acceptance_criteria,
        ...(contract.output_schema ? { schema: contract.output_schema } : {}),
        task: contract.goal,
        truncated: final.truncated,
      });
      verdict = (await judgeArm.run(input, armContext(deps.gateway, "judge", options([])))).output as Judgement;
      await deps.events.emit(run.taskId, "judged", { step: null, attempt: attempt + 1, passed: verdict.passed, issues: verdict.issues.map((i) => ({ severity: i.severity, kind: i.kind, message: i.message })) });
      if (verdict.passed || attempt >= config.max_repairs) break;
      run.budget.takeStep("final");
      final = await integrate(verdict.issues.filter((i) => i.severity === "error").map((i) => i.message));
    }
  }

  const unmet: TaskResult["unmet"] = [];
  for (const record of records) {
    for (const issue of record.judgement?.issues ?? []) if (issue.severity === "error") unmet.push({ step: record.id, ...(issue.criterion ? { criterion: issue.criterion } : {}), message: issue.message });
  }
  for (const issue of verdict?.issues ?? []) if (issue.severity === "error") unmet.push({ step: "final", ...(issue.criterion ? { criterion: issue.criterion } : {}), message: issue.message });
  if (unmet.length > 0 && config.on_unmet_criteria === "fail") {
    throw new LmxError(`The result does not meet its acceptance criteria: ${unmet.map((u) => u.message).join("; ")}`, {
      status: 422,
      type: "invalid_request_error",
      code: "criteria_unmet",
    });
  }

  // The egress gate: what leaves the task is screened, redacted or blocked (which fails the task).
  const released = contract.output_schema
    ? deps.guardian.release({ output: final.output, text: final.text })
    : (() => {
        const text = deps.guardian.release(final.text);
        return { value: { output: text.value, text: text.value }, decision: text.decision };
      })();
  return {
    output: released.value.output,
    text: released.value.text,
    verified: unmet.length === 0,
    unmet,
    guardian: { action: released.decision.action === "redact" ? "redact" : "pass", redactions: released.decision.redactions, findings: released.decision.findings },
  };
}
