/**
 * The task service behind /octo/tasks: submit (idempotent under a key), read, list, cancel, and the
 * event log. What it returns has been through the guardian: step outputs and event data are screened
 * as they leave, so a change of policy applies to tasks already stored.
 */
import { createHash, randomBytes } from "node:crypto";
import { conflict } from "../errors.js";
import type { Guardian } from "./arms/guardian.js";
import { clip } from "./arms/prompt.js";
import { FINISHED_STATUSES, TERMINAL_EVENTS, type StepRecord, type TaskContract, type TaskEvent, type TaskPriority, type TaskRecord, type TaskStatus } from "./contract.js";
import { idempotencyConflict, taskCancelled, taskNotFound, toTaskError } from "./errors.js";
import type { Orchestrator } from "./orchestrator.js";
import type { OctoStore, StoredTask } from "./store/types.js";
import type { TaskEvents } from "./task-events.js";

export interface TaskSummary {
  id: string;
  status: TaskStatus;
  goal: string;
  priority: TaskPriority;
  tokens: { prompt: number; completion: number; total: number };
  error: { code: string; message: string } | null;
  created_at: string;
  finished_at: string | null;
}

export interface TaskListQuery {
  status?: TaskStatus[];
  priority?: TaskPriority[];
  q?: string;
  limit: number;
  after?: string;
  since?: number;
  until?: number;
}

export interface TaskService {
  submit(contract: TaskContract, idempotencyKey: string | null): Promise<{ task: TaskRecord; created: boolean }>;
  get(id: string): Promise<TaskRecord>;
  list(query: TaskListQuery): Promise<{ data: TaskSummary[]; has_more: boolean; next: string | null }>;
  cancel(id: string): Promise<TaskRecord>;
  events(id: string, afterSeq: number): Promise<TaskEvent[]>;
  /** Live events of a task (already screened). */
  subscribe(id: string, listener: (event: TaskEvent) => void): () => void;
}

export function createTaskService(deps: { store: OctoStore; orchestrator: Orchestrator; events: TaskEvents; guardian: Guardian }): TaskService {
  const { store, guardian } = deps;

  async function load(id: string): Promise<StoredTask> {
    const task = await store.getTask(id);
    if (!task) throw taskNotFound(id);
    return task;
  }

  async function view(task: StoredTask): Promise<TaskRecord> {
    const steps = (await store.listSteps(task.id)).map((step) => screenStep(guardian, step));
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      id: task.id,
      status: task.status,
      contract: task.contract,
      plan: task.plan,
      steps,
      result: task.result,
      error: task.error,
      tokens: { prompt: task.prompt_tokens, completion: task.completion_tokens, total: task.prompt_tokens + task.completion_tokens },
      steps_run: task.steps_run,
      resumes: task.resumes,
      timings: { created_at: iso(task.created_at) as string, started_at: iso(task.started_at), finished_at: iso(task.finished_at), elapsed_ms: task.elapsed_ms },
    };
  }

  const screenEvent = (event: TaskEvent): TaskEvent => {
    const decision = guardian.egress(event.data);
    return decision.action === "block" ? { ...event, data: { withheld: decision.reason ?? "blocked by the guardian" } } : { ...event, data: decision.value as Record<string, unknown> };
  };

  return {
    async submit(contract, idempotencyKey) {
      const hash = createHash("sha256").update(JSON.stringify(contract)).digest("hex");
      const { task, created } = await store.createTask({
        id: `task_${randomBytes(12).toString("hex")}`,
        contract,
        contract_hash: hash,
        idempotency_key: idempotencyKey,
        priority: contract.priority,
        created_at: Date.now(),
      });
      if (!created && task.contract_hash !== hash) throw idempotencyConflict(idempotencyKey as string);
      if (created) {
        await deps.events.emit(task.id, "created", { goal: clip(contract.goal, 200), priority: contract.priority });
        deps.orchestrator.pump();
      }
      return { task: await view(task), created };
    },

    get: async (id) => view(await load(id)),

    async list(query) {
      const rows = await store.listTasks({ ...query, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      return {
        data: page.map((t) => ({
          id: t.id,
          status: t.status,
          goal: clip(t.contract.goal, 200),
          priority: t.priority,
          tokens: { prompt: t.prompt_tokens, completion: t.completion_tokens, total: t.prompt_tokens + t.completion_tokens },
          error: t.error ? { code: t.error.code, message: t.error.message } : null,
          created_at: new Date(t.created_at).toISOString(),
          finished_at: t.finished_at === null ? null : new Date(t.finished_at).toISOString(),
        })),
        has_more: rows.length > query.limit,
        next: rows.length > query.limit ? page[page.length - 1].id : null,
      };
    },

    async cancel(id) {
      const task = await load(id);
      if (FINISHED_STATUSES.has(task.status)) throw conflict(`Task '${id}' has already ${task.status === "completed" ? "completed" : task.status === "failed" ? "failed" : "been cancelled"}.`, "task_finished");
      const wait = new Promise<void>((resolve) => {
        const stop = deps.events.subscribe(id, (event) => {
          if (TERMINAL_EVENTS.has(event.type)) {
            stop();
            resolve();
          }
        });
        setTimeout(() => {
          stop();
          resolve();
        }, 5000).unref();
      });
      if (deps.orchestrator.abort(id)) {
        // Running here: the abort stops its generations at once; the runner records the cancellation.
        await wait;
        return view(await load(id));
      }
      await store.updateTask(id, { cancel_requested: true });
      const error = toTaskError(taskCancelled());
      if (await store.cancelUnclaimed(id, error, Date.now())) {
        await deps.events.emit(id, "cancelled", { error });
        return view(await load(id));
      }
      // Another instance runs it: it sees the request at its next heartbeat.
      await wait;
      return view(await load(id));
    },

    async events(id, afterSeq) {
      await load(id);
      return (await store.listEvents(id, afterSeq, 10_000)).map(screenEvent);
    },

    subscribe(id, listener) {
      return deps.events.subscribe(id, (event) => listener(screenEvent(event)));
    },
  };
}

/** A step as it leaves: its output screened by the guardian (withheld if it is blocked). */
function screenStep(guardian: Guardian, step: StepRecord): StepRecord {
  if (step.output === null && step.output_text === null) return step;
  const decision = guardian.egress({ output: step.output, output_text: step.output_text });
  if (decision.action === "block") {
    return { ...step, output: null, output_text: `[withheld by the guardian: ${decision.reason ?? "blocked by policy"}]` };
  }
  const value = decision.value as { output: unknown; output_text: string | null };
  return { ...step, output: value.output, output_text: value.output_text };
}
