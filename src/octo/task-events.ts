/**
 * A task's event log: every event is stored (GET /octo/tasks/{id}/events replays it, also after a
 * restart) and pushed to live subscribers. A storage failure is logged and the event still goes out
 * live: losing a log line must not stop a task.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "../telemetry/logger.js";
import type { TaskEvent, TaskEventType } from "./contract.js";
import type { OctoStore } from "./store/types.js";

export interface TaskEvents {
  emit(taskId: string, type: TaskEventType, data?: Record<string, unknown>): Promise<TaskEvent>;
  subscribe(taskId: string, listener: (event: TaskEvent) => void): () => void;
}

export function createTaskEvents(deps: { store: OctoStore; log: Logger }): TaskEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async emit(taskId, type, data = {}) {
      let event: TaskEvent;
      try {
        event = await deps.store.appendEvent(taskId, type, data);
      } catch (err) {
        deps.log.error({ err, taskId, type }, "task event not stored");
        event = { task_id: taskId, seq: -1, type, time: new Date().toISOString(), data };
      }
      emitter.emit(taskId, event);
      return event;
    },
    subscribe(taskId, listener) {
      emitter.on(taskId, listener);
      return () => emitter.off(taskId, listener);
    },
  };
}
