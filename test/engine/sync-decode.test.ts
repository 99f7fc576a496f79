import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { greedyCompletion, loadDirectEngine } from "../../bench/lib/direct-engine.js";
import { enableSyncDecode } from "../../src/engine/runner/sync-decode.js";
import { testModelPath } from "../support/models.js";

// Long enough that the prompt's batch (over 16 tokens) still goes to libuv's worker thread.
const longPrompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun with her dog.";
const shortPrompt = "Tom had a red ball.";

async function greedy(context: LlamaContext, prompts: string[], model: LlamaModel, tokens: number): Promise<Token[][]> {
  // All sequences at once, so generation steps are batches of several tokens.
  return Promise.all(
    prompts.map(async (prompt) => {
      const sequence = context.getSequence();
      const out: Token[] = [];
      try {
        for await (const token of sequence.evaluate(model.tokenize(prompt), { temperature: 0 })) {
          out.push(token);
          if (out.length === tokens) break;
        }
      } finally {
        sequence.dispose();
      }
      return out;
    }),
  );
}

describe("decoding generation steps on the calling thread", () => {
  let llama: Llama;
  let model: LlamaModel;

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, maxThreads: 1, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
    model = await llama.loadModel({ modelPath: testModelPath("stories260K") });
  });
  afterAll(async () => {
    await model?.dispose();
    await llama?.dispose();
  });

  it("is supported only by a local build of the patched addon, and gives the same tokens as the worker thread", async () => {
    const prompts = [longPrompt, shortPrompt, shortPrompt.replace("red", "blue")];
    // The same requests on a context of each kind: three sequences at once, then a sequence that ends
    // early beside one that goes on alone, so the batch changes size between steps.
    const run = async (context: LlamaContext) => {
      const together = await greedy(context, prompts, model, 48);
      const [short, alone] = await Promise.all([greedy(context, [shortPrompt], model, 8), greedy(context, [longPrompt], model, 48)]);
      await context.dispose();
      return { together, short: short[0], alone: alone[0] };
    };
    const onWorker = await run(await model.createContext({ contextSize: 512, sequences: prompts.length, threads: 1 }));

    const onCaller = await model.createContext({ contextSize: 512, sequences: prompts.length, threads: 1 });
    // The prebuilt binaries come from node-llama-cpp's release, without LMX's patch; a local build
    // compiles the patched addon source that npm install leaves in node_modules.
    expect(enableSyncDecode(onCaller)).toBe(llama.buildType === "localBuild");
    const onThread = await run(onCaller);

    expect(onWorker.together.map((tokens) => tokens.length)).toEqual([48, 48, 48]);
    expect(onWorker.short).toHaveLength(8);
    expect(onThread).toEqual(onWorker);
  });

  it("lets timers and I/O run while a lone request generates in a runner's engine", async () => {
    // The engine as `lmx serve` loads it, in this process (the benchmarks' direct path).
    const host = await loadDirectEngine({ path: testModelPath("stories260K"), parallel: 1, contextSize: 1024, threads: 1 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    let elapsed = 0;
    try {
      const result = await host.generate(greedyCompletion(shortPrompt, 600, 1, {}), () => {}, new AbortController().signal);
      elapsed = performance.now() - started;
      expect(result.usage.completionTokens).toBeGreaterThan(20);
    } finally {
      clearInterval(timer);
      await host.dispose();
    }
    // Without the turns the timer could not fire at all until the generation ended.
    expect(ticks).toBeGreaterThanOrEqual(Math.max(2, Math.floor(elapsed / 5 / 3)));
  });

  it("still refuses a decode on a disposed context with an error, not a crash", async () => {
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: 1 });
    enableSyncDecode(context);
    const sequence = context.getSequence();
    await context.dispose();
    await expect(async () => {
      for await (const _ of sequence.evaluate(model.tokenize(shortPrompt), { temperature: 0 })) break;
    }).rejects.toThrow();
  });
});
