import { describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import { SlotScheduler } from "../../src/engine/scheduler.js";

const never = new AbortController().signal;

describe("SlotScheduler", () => {
  it("runs up to `slots` at once and queues the rest by priority, FIFO within a priority", async () => {
    const scheduler = new SlotScheduler({ slots: 1, maxQueue: 10, retryAfterSeconds: 1 });
    const release = await scheduler.acquire({ signal: never });
    const order: string[] = [];
    const wait = (name: string, priority: number) =>
      scheduler.acquire({ signal: never, priority }).then((done) => {
        order.push(name);
        done();
      });
    const all = Promise.all([wait("low-1", -1), wait("normal-1", 0), wait("high-1", 1), wait("normal-2", 0), wait("high-2", 1)]);
    expect(scheduler.queued).toBe(5);
    expect(scheduler.inFlight).toBe(1);
    release();
    await all;
    expect(order).toEqual(["high-1", "high-2", "normal-1", "normal-2", "low-1"]);
    expect(scheduler.inFlight).toBe(0);
  });

  it("refuses beyond the queue bound with 429 and Retry-After", async () => {
    const scheduler = new SlotScheduler({ slots: 1, maxQueue: 1, retryAfterSeconds: 3 });
    await scheduler.acquire({ signal: never });
    void scheduler.acquire({ signal: never });
    const refused = await scheduler.acquire({ signal: never }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LmxError);
    expect((refused as LmxError).status).toBe(429);
    expect((refused as LmxError).retryAfter).toBe(3);
  });

  it("drops a waiter whose client went away, and fails waiters when the model goes", async () => {
    const scheduler = new SlotScheduler({ slots: 1, maxQueue: 5, retryAfterSeconds: 1 });
    const release = await scheduler.acquire({ signal: never });
    const controller = new AbortController();
    const abandoned = scheduler.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    const doomed = scheduler.acquire({ signal: never }).catch((e: unknown) => e);
    controller.abort(new Error("gone"));
    expect(((await abandoned) as Error).message).toBe("gone");
    expect(scheduler.queued).toBe(1);
    scheduler.failAll(new Error("unloaded"));
    expect(((await doomed) as Error).message).toBe("unloaded");
    release();
    release(); // idempotent
    expect(scheduler.inFlight).toBe(0);
  });
});

describe("SlotScheduler per-client limits", () => {
  it("lets other clients pass a client that is at its limit", async () => {
    const scheduler = new SlotScheduler({ slots: 2, maxQueue: 4, retryAfterSeconds: 1, clientLimit: (id) => (id === "vip" ? 2 : 1) });
    const a1 = await scheduler.acquire({ signal: never, clientId: "a" });
    const a2 = scheduler.acquire({ signal: never, clientId: "a" });
    expect(scheduler.queued).toBe(1);
    // b arrives after a's waiting request, but a is at its limit and a slot is free: b runs now.
    const b1 = await scheduler.acquire({ signal: never, clientId: "b" });
    expect(scheduler.inFlight).toBe(2);
    expect(scheduler.runningFor("a")).toBe(1);
    a1();
    const a2release = await a2;
    expect(scheduler.runningFor("a")).toBe(1);
    b1();
    a2release();
    const v1 = await scheduler.acquire({ signal: never, clientId: "vip" });
    const v2 = await scheduler.acquire({ signal: never, clientId: "vip" });
    expect(scheduler.runningFor("vip")).toBe(2);
    v1();
    v2();
    expect(scheduler.inFlight).toBe(0);
  });
});
