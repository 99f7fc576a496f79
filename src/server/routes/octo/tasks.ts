/**
 * /octo/tasks: submit a task contract (202; Idempotency-Key makes a retried submission return the
 * same task), read it, list tasks, follow its events (SSE, replayed from the start or from
 * Last-Event-ID, then live until the task ends), cancel it.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { invalidRequest } from "../../../errors.js";
import { FINISHED_STATUSES, PRIORITIES, TASK_STATUSES, TERMINAL_EVENTS, taskContractSchema, type TaskEvent } from "../../../octo/contract.js";
import { parseBody } from "../../request-context.js";
import type { Services } from "../../services.js";
import { SseWriter } from "../../sse.js";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

const commaList = <T extends string>(values: readonly [T, ...T[]], name: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (!value) return undefined;
      const items = value.split(",").map((s) => s.trim()).filter(Boolean);
      for (const item of items) {
        if (!(values as readonly string[]).includes(item)) {
          ctx.addIssue({ code: "custom", message: `'${item}' is not a ${name} (${values.join(", ")})` });
          return z.NEVER;
        }
      }
      return items as T[];
    });

const time = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (!value) return undefined;
    const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: "custom", message: "expected an ISO 8601 time or Unix seconds" });
      return z.NEVER;
    }
    return ms;
  });

const listQuery = z.object({
  status: commaList(TASK_STATUSES, "status"),
  priority: commaList(PRIORITIES, "priority"),
  q: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(64).optional(),
  since: time,
  until: time,
});

export async function octoTaskRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const tasks = () => services.octo.tasks;

  app.post("/octo/tasks", async (request, reply) => {
    const contract = parseBody(taskContractSchema, request.body);
    const header = request.headers["idempotency-key"];
    const key = Array.isArray(header) ? header[0] : header;
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw invalidRequest("The Idempotency-Key header must be 1-255 visible ASCII characters.", "Idempotency-Key", "invalid_idempotency_key");
    }
    const { task, created } = await tasks().submit(contract, key ?? null);
    if (!created) reply.header("idempotent-replayed", "true");
    reply.header("location", `/octo/tasks/${task.id}`);
    return reply.status(202).send({ object: "octo.task.submission", task_id: task.id, status: task.status, created: created });
  });

  app.get("/octo/tasks", async (request) => {
    const query = parseBody(listQuery, { ...(request.query as object) });
    const page = await tasks().list(query);
    return { object: "list", ...page };
  });

  app.get("/octo/tasks/:id", async (request) => {
    const { id } = request.params as { id: string };
    return { object: "octo.task", ...(await tasks().get(id)) };
  });

  app.post("/octo/tasks/:id/cancel", async (request) => {
    const { id } = request.params as { id: string };
    return { object: "octo.task", ...(await tasks().cancel(id)) };
  });

  app.get("/octo/tasks/:id/events", async (request, reply) => {
    const { id } = request.params as { id: string };
    const query = request.query as { after?: string; format?: string; heartbeat_ms?: string };
    const lastId = request.headers["last-event-id"];
    const afterText = query.after ?? (Array.isArray(lastId) ? lastId[0] : lastId) ?? "0";
    const after = Number(afterText);
    if (!Number.isInteger(after) || after < 0) throw invalidRequest(`Invalid event id '${afterText}': expected a number.`, "after");

    if (query.format === "json") {
      return { object: "list", data: await tasks().events(id, after) };
    }

    // Subscribe before replaying, so nothing falls between the stored events and the live ones.
    const buffered: TaskEvent[] = [];
    let live: ((event: TaskEvent) => void) | null = null;
    const unsubscribe = tasks().subscribe(id, (event) => (live ? live(event) : buffered.push(event)));
    let stored: TaskEvent[];
    try {
      stored = await tasks().events(id, after);
    } catch (err) {
      unsubscribe();
      throw err;
    }
    reply.hijack();
    const sse = new SseWriter(reply.raw);
    sse.comment(`octo task ${id}`);
    let lastSeq = after;
    let ended = false;
    const heartbeat = setInterval(() => sse.comment("heartbeat"), Math.max(100, Number(query.heartbeat_ms) || 15_000));
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    const send = (event: TaskEvent) => {
      if (ended || (event.seq !== -1 && event.seq <= lastSeq)) return;
      if (event.seq !== -1) lastSeq = event.seq;
      sse.event(event.type, { ...event.data, task_id: event.task_id, seq: event.seq, time: event.time }, event.seq === -1 ? undefined : String(event.seq));
      if (TERMINAL_EVENTS.has(event.type)) {
        ended = true;
        close();
        sse.end(false);
      }
    };
    for (const event of stored) send(event);
    for (const event of buffered) send(event);
    live = send;
    if (!ended) {
      // A finished task whose terminal event this stream will not see live (it came before `after`,
      // or is being written right now): give the event a moment to arrive, then end the stream.
      const task = await tasks().get(id).catch(() => null);
      if (task && FINISHED_STATUSES.has(task.status)) {
        setTimeout(() => {
          void tasks()
            .events(id, lastSeq)
            .catch(() => [])
            .then((tail) => {
              for (const event of tail) send(event);
              if (!ended) {
                ended = true;
                close();
                sse.end(false);
              }
            });
        }, 500).unref();
      }
    }
    reply.raw.on("close", close);
  });
}
