/**
 * Runner child process: hosts one model and answers the protocol in protocol.ts over IPC.
 * A native crash here takes down only this process; the API process sees the exit and recovers.
 */
import { toErrorData } from "../errors.js";
import type { GenerateEvent } from "../types.js";
import { ModelHost } from "./model-host.js";
import type { FromRunner, ToRunner } from "./protocol.js";
import { resolveStreamInterval } from "./stream-interval.js";

if (!process.send) {
  console.error("lmx runner: must be started by the LMX server (no IPC channel)");
  process.exit(2);
}

const send = (message: FromRunner) => {
  // The parent may already be gone (it was killed); nothing useful can be done with the error then.
  if (process.connected) process.send!(message);
};
const log = (level: "debug" | "info" | "warn" | "error", message: string) => send({ t: "log", level, message });

let host: ModelHost | null = null;
const running = new Map<number, AbortController>();

/**
 * Events are batched. A generation's first event goes out at once, with whatever else is waiting
 * (time to first token is never delayed, even right after another request's flush); after that,
 * events are sent at most every `streamIntervalMs`, so the API process and the client wake once per batch
 * instead of once per token — on a machine with few cores those wake-ups compete with the model's own
 * threads. A generation's last events go out as soon as it ends.
 */
const outbox = new Map<number, GenerateEvent[]>();
/** Generations whose first events have been queued. */
const streaming = new Set<number>();
let flushTimer: NodeJS.Immediate | NodeJS.Timeout | null = null;
let lastFlush = 0;
let streamIntervalMs = 0;
function queueEvent(id: number, event: GenerateEvent) {
  const batch = outbox.get(id);
  if (batch) batch.push(event);
  else outbox.set(id, [event]);
  if (!streaming.has(id)) {
    // A generation's first token goes out now: waiting even for the next turn of the event loop
    // costs 0.3-1 ms here, as the generation's next step is dispatched first.
    streaming.add(id);
    return flush();
  }
  if (flushTimer) return;
  const wait = lastFlush + streamIntervalMs - performance.now();
  flushTimer = wait <= 0 ? setImmediate(flush) : setTimeout(flush, wait);
}
function flush() {
  if (flushTimer) {
    clearTimeout(flushTimer as NodeJS.Timeout);
    clearImmediate(flushTimer as NodeJS.Immediate);
    flushTimer = null;
  }
  lastFlush = performance.now();
  if (outbox.size === 0) return;
  send({ t: "events", batches: Array.from(outbox, ([id, events]) => ({ id, events })) });
  outbox.clear();
}

/** A generation's events not sent yet, taken out of the outbox to travel with its result. */
function takeEvents(id: number): GenerateEvent[] | undefined {
  const events = outbox.get(id);
  outbox.delete(id);
  return events;
}

async function handle(message: ToRunner): Promise<void> {
  switch (message.t) {
    case "load": {
      try {
        host = await ModelHost.load(message.options, log);
        streamIntervalMs = resolveStreamInterval(message.options.streamIntervalMs, {
          onGpu: host.info.gpu !== false && host.info.gpuLayers > 0,
          threads: message.options.threads,
        });
        log("debug", `stream interval: ${streamIntervalMs} ms`);
        send({ t: "loaded", info: host.info });
      } catch (err) {
        send({ t: "load_failed", error: toErrorData(err) });
      }
      return;
    }
    case "abort":
      running.get(message.id)?.abort();
      return;
    case "shutdown":
      for (const controller of running.values()) controller.abort();
      await host?.dispose().catch(() => {});
      process.exit(0);
      return;
    default:
      break;
  }

  const { id } = message;
  const controller = new AbortController();
  running.set(id, controller);
  try {
    if (!host) throw new Error("no model loaded");
    let value;
    switch (message.t) {
      case "generate":
        value = await host.generate(message.request, (event) => queueEvent(id, event), controller.signal);
        break;
      case "embed":
        value = await host.embed(message.request, controller.signal);
        break;
      case "tokenize":
        value = host.tokenize(message.text);
        break;
      case "stats":
        value = host.stats();
        break;
    }
    const events = takeEvents(id);
    send({ t: "result", id, value, ...(events ? { events } : {}) });
  } catch (err) {
    flush();
    send({ t: "error", id, error: toErrorData(err) });
  } finally {
    running.delete(id);
    streaming.delete(id);
  }
}

process.on("message", (message: ToRunner) => {
  void handle(message);
});
// The API process going away (crash, kill -9) must not leave a model loaded in memory.
process.on("disconnect", () => process.exit(0));
