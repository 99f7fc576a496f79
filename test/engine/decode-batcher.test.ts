import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { DecodeBatcher } from "../../src/engine/runner/decode-batcher.js";

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("DecodeBatcher: a lone sequence's steps", () => {
  it("go out at once by default: the decode itself comes back through the event loop", async () => {
    const batcher = new DecodeBatcher();
    const leave = batcher.enter();
    const decoded: number[] = [];
    await batcher.step(0, false, async () => decoded.push(1));
    busyWait(3);
    const second = batcher.step(0, false, async () => decoded.push(2));
    expect(decoded).toEqual([1, 2]);
    await second;
    leave();
  });

  it("with keepEventLoopTurning, wait for the next turn of the event loop once the last turn is that old", async () => {
    const batcher = new DecodeBatcher();
    // Long enough that nothing between two statements here takes it by accident (a GC pause).
    batcher.keepEventLoopTurning(50);
    const leave = batcher.enter();
    const decoded: string[] = [];
    const decode = (name: string) => async () => void decoded.push(name);

    // No turn yet: the first step waits for one.
    const first = batcher.step(0, false, decode("first"));
    expect(decoded).toEqual([]);
    await first;
    expect(decoded).toEqual(["first"]);

    // Right after that turn: at once.
    const second = batcher.step(0, false, decode("second"));
    expect(decoded).toEqual(["first", "second"]);
    await second;

    // That long a piece of work later (decodes on this thread): the event loop gets its turn first.
    busyWait(60);
    const third = batcher.step(0, false, decode("third"));
    expect(decoded).toEqual(["first", "second"]);
    await nextTurn();
    expect(decoded).toEqual(["first", "second", "third"]);
    await third;
    leave();
  });

  it("with keepEventLoopTurning, the steps of one batch wait for the same turn and keep the order of their sequences", async () => {
    const batcher = new DecodeBatcher();
    batcher.keepEventLoopTurning(50);
    const leaves = [batcher.enter(), batcher.enter()];
    const decoded: number[] = [];
    const second = batcher.step(1, false, async () => void decoded.push(1));
    const first = batcher.step(0, false, async () => void decoded.push(0));
    // Both are ready, so the batch is released; no turn has happened yet, so both wait for one.
    expect(decoded).toEqual([]);
    await nextTurn();
    expect(decoded).toEqual([0, 1]);
    await Promise.all([first, second]);
    for (const leave of leaves) leave();
  });
});
