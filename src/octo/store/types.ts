/**
 * Octo's persistence, behind one small interface so that a PostgreSQL backend can follow the embedded
 * SQLite one (store/sqlite.ts). Methods are async for that reason even where SQLite is synchronous.
 */
import type { Plan, StepRecord, TaskContract, TaskEvent, TaskEventType, TaskPriority, TaskResult, TaskStatus } from "../contract.js";
import type { TaskError } from "../errors.js";

export interface StoredTask {
  id: string;
  status: TaskStatus;
  contract: TaskContract;
  /** sha256 of the submitted contract, to tell a retried submission from a different one. */
  contract_hash: string;
  idempotency_key: string | null;
  priority: TaskPriority;
  plan: Plan | null;
  result: TaskResult | null;
  error: TaskError | null;
  prompt_tokens: number;
  completion_tokens: number;
  steps_run: number;
  /** Running time so far, across restarts. */
  elapsed_ms: number;
  /** Times the task was taken over after its instance died. */
  resumes: number;
  cancel_requested: boolean;
  /** Unix ms. */
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** The instance running it (`host:pid:instance`), null when none is. */
  owner: string | null;
  /** Unix ms until which the owner's claim holds without a heartbeat. */
  lease_until: number | null;
}

export type NewTask = Pick<StoredTask, "id" | "contract" | "contract_hash" | "idempotency_key" | "priority" | "created_at">;

export type TaskPatch = Partial<
  Pick<
    StoredTask,
    | "status"
    | "plan"
    | "result"
    | "error"
    | "prompt_tokens"
    | "completion_tokens"
    | "steps_run"
    | "elapsed_ms"
    | "resumes"
    | "cancel_requested"
    | "started_at"
    | "finished_at"
    | "owner"
    | "lease_until"
  >
>;

export interface TaskFilter {
  status?: TaskStatus[];
  priority?: TaskPriority[];
  /** Words that must appear in the goal. */
  q?: string;
  /** Created at or after / before (Unix ms). */
  since?: number;
  until?: number;
  limit: number;
  /** Tasks created before this task (by creation order): the cursor of the previous page. */
  after?: string;
}

export interface Fact {
  id: number;
  text: string;
  task_id: string | null;
  /** Where it came from: arm, model, the task's goal. */
  provenance: Record<string, unknown>;
  created_at: number;
}

export interface Episode {
  id: number;
  arm: string;
  input: string;
  output: string;
  task_id: string | null;
  model: string | null;
  created_at: number;
}

export interface ClaimOptions {
  owner: string;
  leaseUntil: number;
  now: number;
}

export interface OctoStore {
  /** Inserts the task, or returns the one already submitted under the same idempotency key. */
  createTask(task: NewTask): Promise<{ task: StoredTask; created: boolean }>;
  getTask(id: string): Promise<StoredTask | null>;
  listTasks(filter: TaskFilter): Promise<StoredTask[]>;
  updateTask(id: string, patch: TaskPatch): Promise<void>;
  /**
   * Takes up to `limit` tasks nobody runs: pending ones, highest priority and oldest first, and
   * unfinished ones whose owner `isDead` says is gone or whose lease ran out. Atomic, so two
   * instances on one database never take the same task.
   */
  claimTasks(options: ClaimOptions & { limit: number; isDead(owner: string): boolean }): Promise<StoredTask[]>;
  /** Cancels a task nobody has claimed (pending, or released by a stopped instance); false if someone has. */
  cancelUnclaimed(id: string, error: TaskError, finishedAt: number): Promise<boolean>;
  /** Extends the owner's leases on its unfinished tasks. */
  renewLeases(options: ClaimOptions): Promise<void>;

  saveSteps(taskId: string, steps: StepRecord[]): Promise<void>;
  updateStep(taskId: string, step: StepRecord): Promise<void>;
  listSteps(taskId: string): Promise<StepRecord[]>;

  appendEvent(taskId: string, type: TaskEventType, data: Record<string, unknown>): Promise<TaskEvent>;
  listEvents(taskId: string, afterSeq: number, limit: number): Promise<TaskEvent[]>;

  addFact(fact: Omit<Fact, "id" | "created_at">): Promise<void>;
  searchFacts(query: string, limit: number): Promise<Fact[]>;
  addEpisode(episode: Omit<Episode, "id" | "created_at">): Promise<void>;
  recentEpisodes(arm: string, limit: number): Promise<Episode[]>;

  close(): Promise<void>;
}
