/**
 * Octo's errors, in the core LmxError family so /octo answers with the same envelope as /v1. A task's
 * own failure is stored as `{code, message}` from the LmxError that ended it.
 */
import { conflict, isAbortError, LmxError, notFound } from "../errors.js";

export const taskNotFound = (id: string) => notFound(`No task '${id}'.`, "task_not_found", "id");

export const armNotFound = (arm: string) => notFound(`No arm '${arm}'. GET /octo/arms lists them.`, "arm_not_found", "arm");

export const idempotencyConflict = (key: string) =>
  conflict(`The Idempotency-Key '${key}' was already used with a different task contract.`, "idempotency_key_reused");

/** 502: a model answered, but not with something the arm can use (cut off, malformed). */
export const armOutputInvalid = (arm: string, message: string) =>
  new LmxError(`The ${arm} arm could not use the model's answer: ${message}`, { status: 502, type: "server_error", code: "arm_output_invalid" });

export type BudgetKind = "tokens" | "time" | "steps";

export const budgetExceeded = (kind: BudgetKind, detail: string) =>
  new LmxError(`The task's ${kind} budget is exhausted: ${detail}.`, { status: 429, type: "rate_limit_error", code: "budget_exceeded", param: `budget.${kindParam[kind]}` });

const kindParam: Record<BudgetKind, string> = { tokens: "max_tokens", time: "max_time_seconds", steps: "max_steps" };

export const guardianBlocked = (reason: string) =>
  new LmxError(`The guardian withheld the output: ${reason}.`, { status: 403, type: "permission_error", code: "guardian_blocked" });

export const injectionDetected = (where: string, detail: string) =>
  new LmxError(`The task's ${where} looks like a prompt injection (${detail}); it was not run.`, {
    status: 400,
    type: "invalid_request_error",
    code: "injection_detected",
    param: where,
  });

export const taskCancelled = (reason = "The task was cancelled.") =>
  new LmxError(reason, { status: 409, type: "conflict_error", code: "cancelled" });

export const taskInterrupted = (message: string) => new LmxError(message, { status: 500, type: "server_error", code: "interrupted" });

/** What a failed task records: the LmxError's code and message, or a generic one (details go to the log). */
export interface TaskError {
  code: string;
  message: string;
  /** The step that failed, when one did. */
  step?: string;
}

export function toTaskError(err: unknown, step?: string): TaskError {
  const at = step === undefined ? {} : { step };
  if (err instanceof LmxError) return { code: err.code ?? err.type, message: err.message, ...at };
  if (isAbortError(err)) return { code: "cancelled", message: "The task was cancelled.", ...at };
  return { code: "internal_error", message: err instanceof Error ? err.message : String(err), ...at };
}
