/**
 * A task's budget, enforced while it runs: tokens (prompt + completion, charged after every model
 * call, and each call capped to what is left), wall time (a timer that aborts the task), and step runs
 * (a repair retry is a run). Usage from before a restart is carried in, so a resumed task does not
 * get its budget afresh.
 */
import { budgetExceeded, type BudgetKind } from "./errors.js";
import type { LlmRequest, LlmUsage, OctoLlm } from "./llm.js";
import { totalTokens } from "./llm.js";
import type { LmxError } from "../errors.js";

export interface BudgetLimits {
  maxTokens: number;
  maxTimeMs: number;
  maxSteps: number;
}

export interface BudgetUsage {
  tokens: number;
  /** Running time of the task so far, across restarts. */
  elapsedMs: number;
  steps: number;
}

export class TaskBudget {
  private tokens: number;
  private steps: number;
  private readonly elapsedBefore: number;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private exceeded: LmxError | null = null;

  /** `onExceeded` aborts the task (with the error as the reason) the moment a limit is passed. */
  constructor(
    readonly limits: BudgetLimits,
    used: BudgetUsage,
    private readonly onExceeded: (error: LmxError) => void,
  ) {
    this.tokens = used.tokens;
    this.steps = used.steps;
    this.elapsedBefore = used.elapsedMs;
  }

  start(): void {
    const left = this.limits.maxTimeMs - this.elapsedMs();
    if (left <= 0) {
      this.exceed("time", `${Math.round(this.limits.maxTimeMs / 1000)} s of running time used`);
      return;
    }
    this.timer = setTimeout(() => this.exceed("time", `it ran for ${Math.round(this.limits.maxTimeMs / 1000)} s`), left);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  usage(): BudgetUsage {
    return { tokens: this.tokens, elapsedMs: this.elapsedMs(), steps: this.steps };
  }

  elapsedMs(): number {
    return this.elapsedBefore + (Date.now() - this.startedAt);
  }

  remainingTokens(): number {
    return Math.max(0, this.limits.maxTokens - this.tokens);
  }

  /** The error that ended the task, once a limit was passed. */
  get exceededError(): LmxError | null {
    return this.exceeded;
  }

  chargeTokens(usage: LlmUsage): void {
    this.tokens += totalTokens(usage);
    if (this.tokens > this.limits.maxTokens) this.exceed("tokens", `${this.tokens} tokens used of ${this.limits.maxTokens}`);
  }

  /** Counts a step run; throws (and aborts the task) when it is one too many. */
  takeStep(stepId: string): void {
    if (this.steps >= this.limits.maxSteps) {
      throw this.exceed("steps", `${this.steps} step runs done, the limit is ${this.limits.maxSteps}; step '${stepId}' was not run`);
    }
    this.steps++;
  }

  /** Refuses (and aborts the task) up front when `count` more step runs cannot fit. */
  requireSteps(count: number, what: string): void {
    const left = this.limits.maxSteps - this.steps;
    if (count > left) throw this.exceed("steps", `${what} needs ${count} step runs, ${left} are left of ${this.limits.maxSteps}`);
  }

  /** Throws the budget error if a limit was already passed. */
  check(): void {
    if (this.exceeded) throw this.exceeded;
  }

  private exceed(kind: BudgetKind, detail: string): LmxError {
    if (!this.exceeded) {
      this.exceeded = budgetExceeded(kind, detail);
      this.onExceeded(this.exceeded);
    }
    return this.exceeded;
  }
}

/**
 * The task's view of a model: every call is capped to the tokens left, charged afterwards, reported
 * to `onUsage` (the step's own accounting) and queued at the task's priority.
 */
export function meteredLlm(llm: OctoLlm, budget: TaskBudget, options: { priority: number; onUsage?: (usage: LlmUsage, model: string) => void }): OctoLlm {
  return {
    async chat(request: LlmRequest) {
      budget.check();
      const left = budget.remainingTokens();
      const response = await llm.chat({ ...request, maxTokens: Math.max(1, Math.min(request.maxTokens, left)), priority: request.priority ?? options.priority });
      budget.chargeTokens(response.usage);
      options.onUsage?.(response.usage, response.model);
      budget.check();
      return response;
    },
    async embed(model, texts, signal) {
      budget.check();
      const response = await llm.embed(model, texts, signal);
      const usage = { promptTokens: response.promptTokens, completionTokens: 0 };
      budget.chargeTokens(usage);
      options.onUsage?.(usage, response.model);
      budget.check();
      return response;
    },
  };
}
