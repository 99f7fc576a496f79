/**
 * One plan step: its arm runs (or a swarm of proposals, aggregated), the judge checks the output
 * against the step's acceptance criteria and the arm's output schema, and a rejected output is
 * retried with the judge's issues fed back, a bounded number of times. Every run counts against the
 * task's step budget; every model call against its token budget. The record keeps the provenance.
 */
import { isAbortError } from "../errors.js";
import type { Logger } from "../telemetry/logger.js";
import { armContext, type ArmCallOptions } from "./arm-context.js";
import type { ArmRegistry } from "./arms/index.js";
import { arbitrate } from "./arms/judge.js";
import type { Arm, ArmOutput, StepInput } from "./arms/types.js";
import { meteredLlm, type TaskBudget } from "./budget.js";
import type { OctoConfig } from "./config.js";
import type { Consensus, Judgement, PlanStep, StepRecord, TaskContract } from "./contract.js";
import { armNotFound, toTaskError } from "./errors.js";
import type { LlmUsage, OctoLlm } from "./llm.js";
import type { ModelGateway } from "./llm/gateway.js";
import type { Memory } from "./memory.js";
import { aggregate, spreadTemperatures } from "./swarm.js";
import type { TaskEvents } from "./task-events.js";
import { LmxError } from "../errors.js";

export interface StepRunnerDeps {
  arms: ArmRegistry;
  gateway: ModelGateway;
  memory: Memory;
  events: TaskEvents;
  config: () => OctoConfig;
  log: Logger;
  /** Persists the step record (called as it changes). */
  save(step: StepRecord): Promise<void>;
}

/** What every step of one task shares. */
export interface TaskRun {
  taskId: string;
  contract: TaskContract;
  budget: TaskBudget;
  signal: AbortSignal;
  /** Engine priority of the task's model calls. */
  priority: number;
  /** Swarm every step (the task's priority asks for it). */
  swarmAll: boolean;
  /** Tokens of the whole task, split as the API reports them. */
  usage: LlmUsage;
}

/** The step's own accounting: models that answered and the tokens they used. */
interface StepMeter {
  models: Set<string>;
  usage: LlmUsage;
  wrap(llm: OctoLlm): OctoLlm;
}

function stepMeter(run: TaskRun): StepMeter {
  const meter: StepMeter = {
    models: new Set(),
    usage: { promptTokens: 0, completionTokens: 0 },
    wrap: (llm) =>
      meteredLlm(llm, run.budget, {
        priority: run.priority,
        onUsage: (usage, model) => {
          meter.models.add(model);
          meter.usage.promptTokens += usage.promptTokens;
          meter.usage.completionTokens += usage.completionTokens;
          run.usage.promptTokens += usage.promptTokens;
          run.usage.completionTokens += usage.completionTokens;
        },
      }),
  };
  return meter;
}

export async function runStep(deps: StepRunnerDeps, run: TaskRun, record: StepRecord, step: PlanStep, dependencies: StepInput["dependencies"]): Promise<StepRecord> {
  const config = deps.config();
  const arm = deps.arms.get(step.arm);
  if (!arm?.fromStep) throw armNotFound(step.arm);
  const started = Date.now();
  const meter = stepMeter(run);
  const swarm = run.swarmAll || step.swarm === true;
  const examples = await deps.memory.examples(arm.id, config.memory.episodic_examples);
  const base = (feedback: string[], sampling?: ArmCallOptions["sampling"]): ArmCallOptions => ({
    signal: run.signal,
    taskId: run.taskId,
    wrap: meter.wrap,
    examples,
    feedback,
    sampling,
    promptChars: config.prompt_chars,
    log: deps.log,
  });

  record.status = "running";
  record.started_at = new Date(started).toISOString();
  record.error = null;

  let feedback: string[] = [];
  let best: { output: ArmOutput; judgement: Judgement; consensus?: Consensus } | null = null;
  let lastError: unknown = null;
  let retries = 0;
  for (let attempt = 0; attempt <= config.max_repairs; attempt++) {
    run.budget.takeStep(step.id);
    record.attempts += 1;
    // Stored before the run (and before anyone hears of it): an attempt cut short by a crash still counts.
    await deps.save(record);
    if (attempt === 0) {
      await deps.events.emit(run.taskId, "step_started", { step: step.id, arm: step.arm, swarm });
    } else {
      retries++;
      await deps.events.emit(run.taskId, "step_retried", { step: step.id, attempt: attempt + 1, feedback });
    }
    let produced: { output: ArmOutput; consensus?: Consensus };
    try {
      const input = arm.input.parse(arm.fromStep({ step, contract: run.contract, dependencies }));
      produced = swarm ? await runSwarm(deps, arm, input, base(feedback), step, run) : { output: await arm.run(input, armContext(deps.gateway, arm.id, base(feedback))) };
    } catch (err) {
      if (run.signal.aborted || isAbortError(err) || isBudgetError(err)) throw err;
      lastError = err;
      deps.log.debug({ err, task: run.taskId, step: step.id }, "step attempt failed");
      feedback = [`The attempt failed: ${toTaskError(err).message}`];
      continue;
    }
    const judgement = await judge(deps, run, arm, step, produced.output, base([]));
    await deps.events.emit(run.taskId, "judged", {
      step: step.id,
      attempt: attempt + 1,
      passed: judgement.passed,
      issues: judgement.issues.map((i) => ({ severity: i.severity, kind: i.kind, message: i.message })),
    });
    if (!best || judgement.passed || errorCount(judgement) < errorCount(best.judgement)) best = { ...produced, judgement };
    if (judgement.passed) break;
    feedback = judgement.issues.filter((i) => i.severity === "error").map((i) => i.message);
  }

  const finished = Date.now();
  record.provenance = {
    arm: arm.id,
    models: [...meter.models],
    tokens: { prompt: meter.usage.promptTokens, completion: meter.usage.completionTokens },
    duration_ms: finished - started,
    retries,
    ...(best?.consensus ? { consensus: best.consensus } : {}),
  };
  record.finished_at = new Date(finished).toISOString();
  if (!best) {
    // Every attempt failed outright: the step, and with it the task, fails.
    record.status = "failed";
    record.error = toTaskError(lastError, step.id);
    await deps.save(record);
    await deps.events.emit(run.taskId, "step_failed", { step: step.id, error: record.error });
    throw lastError;
  }
  record.status = "completed";
  record.output = best.output.output;
  record.output_text = best.output.text;
  record.judgement = best.judgement;
  await deps.save(record);
  await deps.events.emit(run.taskId, "step_completed", {
    step: step.id,
    arm: arm.id,
    passed: best.judgement.passed,
    attempts: record.attempts,
    tokens: record.provenance.tokens,
    duration_ms: record.provenance.duration_ms,
    ...(best.consensus ? { consensus: best.consensus } : {}),
  });
  await deps.memory.rememberStep(run.taskId, record);
  return record;
}

const errorCount = (j: Judgement) => j.issues.filter((i) => i.severity === "error").length;

const isBudgetError = (err: unknown) => err instanceof LmxError && err.code === "budget_exceeded";

/** The judge's verdict on one output: the arm's output schema, the step's criteria, basic quality. */
async function judge(deps: StepRunnerDeps, run: TaskRun, arm: Arm, step: PlanStep, output: ArmOutput, options: ArmCallOptions): Promise<Judgement> {
  const judgeArm = deps.arms.get("judge") as Arm;
  const descriptor = await arm.describe();
  const input = judgeArm.input.parse({
    output: output.text,
    criteria: step.acceptance_criteria,
    task: `${step.action}\n(Part of the goal: ${run.contract.goal})`,
    problems: output.problems ?? [],
    truncated: output.truncated ?? false,
  });
  const verdict = (await judgeArm.run(input, armContext(deps.gateway, "judge", options))).output as Judgement;
  // The structured output must also match what the arm promises (a bug guard more than a model check).
  const schemaInput = judgeArm.input.parse({ output: output.output ?? null, schema: descriptor.output_schema });
  const structural = (await judgeArm.run(schemaInput, armContext(deps.gateway, "judge", options))).output as Judgement;
  const issues = [...verdict.issues, ...structural.issues.filter((i) => i.kind === "schema")];
  return { ...verdict, issues, passed: !issues.some((i) => i.severity === "error") };
}

/** N proposals with different seeds and temperatures, aggregated; the judge arbitrates a contested vote. */
async function runSwarm(
  deps: StepRunnerDeps,
  arm: Arm,
  input: unknown,
  options: ArmCallOptions,
  step: PlanStep,
  run: TaskRun,
): Promise<{ output: ArmOutput; consensus: Consensus }> {
  const config = deps.config();
  const size = config.swarm.size;
  const armTemperature = arm.id in config.arms ? config.arms[arm.id as keyof OctoConfig["arms"]].temperature : 0.7;
  const temperatures = spreadTemperatures(Math.max(armTemperature, 0.2), size, config.swarm.temperature_spread);
  const baseSeed = hashSeed(`${run.taskId}:${step.id}:${options.feedback?.length ?? 0}`);
  const settled = await Promise.allSettled(
    temperatures.map((temperature, i) => arm.run(input, armContext(deps.gateway, arm.id, { ...options, sampling: { seed: baseSeed + i, temperature } }))),
  );
  if (run.signal.aborted) throw run.signal.reason;
  const outputs = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  if (outputs.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
  const vote = aggregate(outputs, config.swarm.arbitrate_below);
  let winner = vote.winner;
  let arbitrated = false;
  if (vote.contested.length >= 2) {
    const leaders = vote.contested;
    const choice = await arbitrate(armContext(deps.gateway, "judge", options), step.action, leaders.map((i) => outputs[i].text));
    winner = leaders[choice.index];
    arbitrated = true;
  }
  return { output: outputs[winner], consensus: { ...vote.consensus, winner, arbitrated } };
}

function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) % 1_000_000_000;
}
