/**
 * Runs tasks: takes (claims) up to max_concurrent_tasks from the store, highest priority first, and
 * runs each (run-task.ts). Claims carry a lease that a heartbeat renews; a task whose instance died
 * (its process is gone, or its lease ran out) is taken over and resumed. Several LMX instances can
 * share one database this way. Stopping aborts running tasks and leaves them for the next start.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { taskCancelled } from "./errors.js";
import { runTask, SHUTDOWN, type RunTaskDeps } from "./run-task.js";
import type { StoredTask } from "./store/types.js";

export interface Orchestrator {
  /** Takes and starts whatever tasks there is room for (call after a submission). */
  pump(): void;
  /** Aborts the task if this instance runs it; returns false if it does not. */
  abort(taskId: string): boolean;
  /** Running tasks of this instance. */
  running(): string[];
  close(): Promise<void>;
}

export type OrchestratorDeps = RunTaskDeps;

export function createOrchestrator(deps: OrchestratorDeps): Orchestrator {
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  const active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  let closed = false;
  let pumping: Promise<void> | null = null;
  let again = false;

  const leaseMs = () => deps.config().lease_seconds * 1000;

  /** A claim whose process is gone on this host is dead at once; elsewhere only its lease tells. */
  const isDead = (other: string): boolean => {
    const [host, pidText] = other.split(":");
    const pid = Number(pidText);
    if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
    if (pid === process.pid) return false; // another instance in this process: alive until its lease says otherwise
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "ESRCH";
    }
  };

  async function claimAndRun(): Promise<void> {
    const room = deps.config().max_concurrent_tasks - active.size;
    if (closed || room <= 0 || !deps.config().run_tasks) return;
    const now = Date.now();
    const tasks = await deps.store.claimTasks({ owner, leaseUntil: now + leaseMs(), now, limit: room, isDead });
    for (const task of tasks) start(task);
  }

  function start(task: StoredTask): void {
    const controller = new AbortController();
    if (task.cancel_requested) controller.abort(taskCancelled());
    const done = runTask(deps, task, controller)
      .catch((err: unknown) => deps.log.error({ err, task: task.id }, "task runner failed"))
      .finally(() => {
        active.delete(task.id);
        if (!closed) pump();
      });
    active.set(task.id, { controller, done });
  }

  function pump(): void {
    if (closed) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = claimAndRun()
      .catch((err: unknown) => deps.log.error({ err }, "claiming tasks failed"))
      .finally(() => {
        pumping = null;
        if (again) {
          again = false;
          pump();
        }
      });
  }

  // The heartbeat: renew our leases, honour cancellations asked through another instance, and look
  // for work (new tasks from other instances, orphans whose lease ran out).
  const heartbeat = setInterval(() => {
    void (async () => {
      try {
        await deps.store.renewLeases({ owner, leaseUntil: Date.now() + leaseMs(), now: Date.now() });
        for (const [id, entry] of active) {
          const task = await deps.store.getTask(id);
          if (task?.cancel_requested && !entry.controller.signal.aborted) entry.controller.abort(taskCancelled());
        }
      } catch (err) {
        deps.log.warn({ err }, "octo heartbeat failed");
      }
      pump();
    })();
  }, Math.max(200, leaseMs() / 3));
  heartbeat.unref();

  pump();

  return {
    pump,
    abort(taskId) {
      const entry = active.get(taskId);
      if (!entry) return false;
      if (!entry.controller.signal.aborted) entry.controller.abort(taskCancelled());
      return true;
    },
    running: () => [...active.keys()],
    async close() {
      closed = true;
      clearInterval(heartbeat);
      await pumping;
      for (const entry of active.values()) if (!entry.controller.signal.aborted) entry.controller.abort(SHUTDOWN);
      await Promise.all([...active.values()].map((entry) => entry.done));
    },
  };
}
