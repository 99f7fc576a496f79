// Each arm on its own, with a scripted model where the model's answer matters and the real sandbox
// where commands run: the coder's check-and-fix loop, the executor from a plan step, its refusal
// without a sandbox, the retriever's citations, the planner's repairs, the writer's JSON answers,
// and the guardian in front of an upstream server.
import Database from "better-sqlite3";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armContext } from "../../src/octo/arm-context.js";
import { extractCodeBlocks, languageIn } from "../../src/octo/arms/code.js";
import { createCoderArm } from "../../src/octo/arms/coder.js";
import { createExecutorArm } from "../../src/octo/arms/executor.js";
import { createGuardian, guardedLlm } from "../../src/octo/arms/guardian.js";
import { createPlannerArm } from "../../src/octo/arms/planner.js";
import { createRetrieverArm } from "../../src/octo/arms/retriever.js";
import type { Arm, ArmId } from "../../src/octo/arms/types.js";
import { createWriterArm } from "../../src/octo/arms/writer.js";
import { octoConfigSchema, type OctoConfig } from "../../src/octo/config.js";
import { taskContractSchema } from "../../src/octo/contract.js";
import type { LlmRequest, OctoLlm } from "../../src/octo/llm.js";
import { toEngineRequest } from "../../src/octo/llm/engine.js";
import { createModelGateway } from "../../src/octo/llm/gateway.js";
import { createScriptedLlm, hashedEmbedding, type ScriptHandler } from "../../src/octo/llm/scripted.js";
import { createUpstreamLlm } from "../../src/octo/llm/upstream.js";
import { createRetriever } from "../../src/octo/retriever/index.js";
import { createTaskSandbox, type TaskSandbox } from "../../src/octo/task-sandbox.js";
import { createScreener } from "../../src/reflex/index.js";
import { lastUser } from "./support/scripted-octo.js";

const log = pino({ level: "silent" });
const workRoot = mkdtempSync(join(tmpdir(), "lmx-octo-arms-"));
chmodSync(workRoot, 0o711);
afterAll(() => rmSync(workRoot, { recursive: true, force: true }));

const config = (extra: Record<string, unknown> = {}): OctoConfig => octoConfigSchema.parse({ db_path: ":memory:", ...extra });
const sandboxFor = (executor: Record<string, unknown> = {}) => createTaskSandbox({ config: () => config({ executor: { work_root: workRoot, ...executor } }).executor, log });

/** Runs an arm with a scripted model, the way the orchestrator does (a direct call: no task). */
async function call<I, O>(arm: Arm<I, O>, input: unknown, handler: ScriptHandler, taskId: string | null = null) {
  const llm = createScriptedLlm(handler);
  const gateway = createModelGateway({ config: () => config(), engine: llm, guard: (l) => l });
  const out = await arm.run(arm.input.parse(input), armContext(gateway, arm.id as ArmId, { signal: new AbortController().signal, taskId, wrap: (l) => l, promptChars: 4000, log }));
  return { out, calls: llm.calls };
}

const model = () => ({ model: "m", upstream: null });

describe("coder", () => {
  const sandbox = sandboxFor();
  const coder = createCoderArm({ sandbox, model, maxCheckRounds: () => 2 });

  it("extracts the code, checks it in the sandbox, and fixes it from the error until the check passes", async () => {
    const { out, calls } = await call(coder, { task: "Print the sum of 2 and 3", language: "python" }, (request) =>
      request.messages.some((m) => m.role === "user" && m.content.includes("failed (exit code"))
        ? { text: "Fixed:\n```python\nprint(2 + 3)\n```\nNow it parses." }
        : { text: "Here you go:\n```python\nprint(2 +\n```\nIt prints the sum." },
    );
    expect(out.output.code).toBe("print(2 + 3)");
    expect(out.output.explanation).toBe("Fixed:\n\nNow it parses.");
    expect(out.output.check).toMatchObject({ command: ["python3", "-m", "py_compile", "main.py"], passed: true, exit_code: 0, rounds: 2 });
    expect(out.problems).toEqual([]);
    const fixRequest = calls[1].messages.at(-1)!.content as string;
    expect(fixRequest).toMatch(/SyntaxError/);
  });

  it("reports a check that still fails after its rounds as a problem", async () => {
    const { out } = await call(coder, { task: "x", language: "javascript", check: "run" }, () => ({ text: "```js\nprocess.exit(3)\n```" }));
    expect(out.output.check).toMatchObject({ command: ["node", "main.js"], passed: false, exit_code: 3, rounds: 3 });
    expect(out.problems?.[0]).toMatch(/still fails after 3 round/);
  });

  it("explains code without running anything", async () => {
    const { out } = await call(coder, { task: "What does it do?", mode: "explain", code: "print(1)", language: "python" }, () => ({ text: "It prints 1." }));
    expect(out.output).toMatchObject({ explanation: "It prints 1.", code: "print(1)", check: null });
    expect(out.text).toBe("It prints 1.");
  });

  it("turns a plan step into a fix of the code an earlier step wrote", () => {
    const input = coder.fromStep!({
      step: { id: "fix", arm: "coder", action: "Fix the bug", acceptance_criteria: [], depends_on: ["gen"] },
      contract: taskContractSchema.parse({ goal: "A JavaScript tool" }),
      dependencies: [{ step: { id: "gen", arm: "coder", action: "write", acceptance_criteria: [], depends_on: [] }, text: "…", output: { code: "let x =", language: "javascript" } }],
    });
    expect(input).toMatchObject({ mode: "fix", code: "let x =", language: "javascript" });
  });
});

describe("code helpers", () => {
  it("extracts fenced blocks with their languages", () => {
    expect(extractCodeBlocks("a\n```py\nx = 1\n```\nb\n~~~\nraw\n~~~\n```ts\nunclosed")).toEqual([
      { language: "python", code: "x = 1" },
      { language: null, code: "raw" },
      { language: "typescript", code: "unclosed" },
    ]);
    expect(languageIn("Write a Python script")).toBe("python");
    expect(languageIn("a node.js server")).toBe("javascript");
    expect(languageIn("a poem")).toBeNull();
  });
});

describe("executor", () => {
  it("runs the code an earlier step produced, in the task's work dir, which ends with the task", async () => {
    const sandbox = sandboxFor();
    const executor = createExecutorArm({ sandbox, model });
    const input = executor.fromStep!({
      step: { id: "run", arm: "executor", action: "Run it", acceptance_criteria: [], depends_on: ["code"] },
      contract: taskContractSchema.parse({ goal: "Count" }),
      dependencies: [{ step: { id: "code", arm: "coder", action: "write", acceptance_criteria: [], depends_on: [] }, text: "", output: { code: "import os\nprint(len(os.listdir('.')))", language: "python" } }],
    });
    const { out } = await call(executor, input, () => new Error("no model needed"), "task-exec-1");
    expect(out.output).toMatchObject({ argv: ["python3", "main.py"], exit_code: 0, stdout: "1\n", sandboxed: true });
    await sandbox.release("task-exec-1");
  });

  it("queues a task's runs, so parallel steps never collide in its work dir", async () => {
    const sandbox = sandboxFor();
    const signal = new AbortController().signal;
    const runs = await Promise.all(
      [1, 2, 3].map((n) => sandbox.run("task-parallel", { argv: ["python3", `s${n}.py`], files: { [`s${n}.py`]: `print(${n})` }, signal })),
    );
    expect(runs.map((r) => [r.exitCode, r.stdout])).toEqual([
      [0, "1\n"],
      [0, "2\n"],
      [0, "3\n"],
    ]);
    await sandbox.release("task-parallel");
  });

  it("asks its model for a command under a grammar of the allowed programs", async () => {
    const executor = createExecutorArm({ sandbox: sandboxFor(), model });
    const { out, calls } = await call(executor, { instruction: "Print hello" }, () => ({ json: { program: "python3", args: ["-c", "print('hello')"] } }));
    expect(out.output).toMatchObject({ exit_code: 0, stdout: "hello\n" });
    expect((calls[0].schema!.schema as { properties: { program: { enum: string[] } } }).properties.program.enum).toEqual(["python3", "node"]);
  });

  it("refuses clearly without a sandbox, unless unsandboxed runs are allowed", async () => {
    const none = createExecutorArm({ sandbox: sandboxFor({ bwrap_path: "/nonexistent/bwrap" }), model });
    const descriptor = await none.describe();
    expect(descriptor.available).toBe(false);
    expect(descriptor.unavailable_reason).toMatch(/no sandbox/);
    await expect(call(none, { argv: ["python3", "-c", "print(1)"] }, () => new Error("unused"))).rejects.toMatchObject({ status: 503, code: "sandbox_unavailable" });

    const unsandboxed = createExecutorArm({ sandbox: sandboxFor({ bwrap_path: "/nonexistent/bwrap", allow_unsandboxed: true }), model });
    const { out } = await call(unsandboxed, { argv: ["python3", "-c", "print(1)"] }, () => new Error("unused"));
    expect(out.output).toMatchObject({ exit_code: 0, stdout: "1\n", sandboxed: false });
  });
});

describe("retriever arm", () => {
  let db: Database.Database;
  beforeAll(async () => {
    db = new Database(":memory:");
    const retriever = createRetriever({ db, embed: async (texts) => texts.map(hashedEmbedding), embeddingModel: "hash" });
    retriever.createCollection({ name: "kb" });
    await retriever.ingest("kb", {
      documents: [
        { source: "tea.md", text: "# Tea\n\nGreen tea is steeped at 80 degrees for two minutes." },
        { source: "coffee.md", text: "# Coffee\n\nEspresso is brewed under nine bars of pressure." },
      ],
    });
    arm = createRetrieverArm({ retriever: () => retriever, model });
  });
  afterAll(() => db.close());
  let arm: ReturnType<typeof createRetrieverArm>;

  it("answers from numbered passages and cites their sources", async () => {
    const { out, calls } = await call(arm, { query: "how hot for green tea", top_k: 1 }, () => ({ text: "At 80 degrees [1]." }));
    expect(out.output.passages).toEqual([expect.objectContaining({ ref: 1, collection: "kb", citation: expect.objectContaining({ source: "tea.md", heading: "Tea" }) })]);
    expect(out.output.answer).toBe("At 80 degrees [1].");
    expect(out.text).toBe("At 80 degrees [1].\n\nSources:\n[1] tea.md > Tea (chunk 0)");
    expect(lastUser(calls[0])).toMatch(/^\[1\] \(tea\.md\)/m);
  });

  it("says so when nothing matches", async () => {
    const { out, calls } = await call(arm, { query: "zzzz", mode: "fts" }, () => ({ text: "unused" }));
    expect(out.output.passages).toEqual([]);
    expect(out.problems).toEqual(["No passages were found for the question."]);
    expect(calls).toHaveLength(0);
  });
});

describe("planner arm", () => {
  it("plans over the plannable arms and sends a faulty plan back once", async () => {
    const planner = createPlannerArm({
      plannableArms: async () => [
        { id: "writer", description: "writes" },
        { id: "coder", description: "codes" },
      ],
      maxSteps: () => 3,
      model,
    });
    let n = 0;
    const { out, calls } = await call(planner, { goal: "Do it" }, () =>
      n++ === 0
        ? { json: { steps: [{ id: "a", arm: "coder", action: "A", acceptance_criteria: [], depends_on: ["b"], swarm: false }, { id: "b", arm: "writer", action: "B", acceptance_criteria: [], depends_on: ["a"], swarm: false }] } }
        : { json: { steps: [{ id: "a", arm: "coder", action: "A", acceptance_criteria: ["runs"], depends_on: [], swarm: false }] } },
    );
    expect(calls).toHaveLength(2);
    expect((calls[0].schema!.schema as { properties: { steps: { maxItems: number } } }).properties.steps.maxItems).toBe(3);
    expect(out.output.steps).toEqual([{ id: "a", arm: "coder", action: "A", acceptance_criteria: ["runs"], depends_on: [], swarm: false }]);
  });
});

describe("planner arm, cut off", () => {
  it("asks again for a shorter plan when the first was cut off at the token limit", async () => {
    const planner = createPlannerArm({ plannableArms: async () => [{ id: "writer", description: "writes" }], maxSteps: () => 4, model });
    let n = 0;
    const { out, calls } = await call(planner, { goal: "Do it" }, () =>
      n++ === 0 ? { text: '{"steps": [{"id": "a", "arm": "wri', finishReason: "length" } : { json: { steps: [{ id: "a", arm: "writer", action: "A", acceptance_criteria: [], depends_on: [], swarm: false }] } },
    );
    expect(calls.map((c) => (c.schema!.schema as { properties: { steps: { maxItems: number } } }).properties.steps.maxItems)).toEqual([4, 2]);
    expect(lastUser(calls[1])).toMatch(/too long to finish/);
    expect(out.output.steps.map((s) => s.id)).toEqual(["a"]);
  });
});

describe("writer arm", () => {
  it("answers as JSON under a schema", async () => {
    const writer = createWriterArm({ model });
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    const { out, calls } = await call(writer, { instruction: "A number", schema }, () => ({ json: { n: 4 } }));
    expect(out.output).toEqual({ text: '{"n":4}', json: { n: 4 } });
    expect(calls[0].schema).toEqual({ name: "octo_answer", schema });
  });
});

describe("models: the engine request and an upstream behind the guardian", () => {
  it("maps an arm's request onto the engine's, with the preset's defaults", () => {
    const request: LlmRequest = { model: "x", messages: [{ role: "user", content: "hi" }], maxTokens: 50, temperature: 0.1, seed: 7, schema: { name: "s", schema: { type: "object" } }, signal: new AbortController().signal };
    const engine = toEngineRequest(request, { name: "p", model: "x", system_prompt: "Be brief.", parameters: { top_k: 5, temperature: 1.5 } });
    expect(engine.messages[0]).toEqual({ role: "system", content: "Be brief." });
    expect(engine.responseFormat).toEqual({ type: "json_schema", name: "s", schema: { type: "object" } });
    expect(engine.sampling).toMatchObject({ temperature: 0.1, topK: 5, seed: 7 });
    expect(engine.maxTokens).toBe(50);
  });

  let server: Server;
  let bodies: Array<Record<string, unknown>> = [];
  let url = "";
  beforeAll(async () => {
    server = createServer(async (req: IncomingMessage, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      bodies.push({ path: req.url, auth: req.headers.authorization, ...(JSON.parse(body) as Record<string, unknown>) });
      res.setHeader("content-type", "application/json");
      if (req.url === "/v1/embeddings") {
        res.end(JSON.stringify({ model: "emb", data: [{ index: 0, embedding: [1, 0] }], usage: { prompt_tokens: 2 } }));
        return;
      }
      res.end(
        JSON.stringify({
          model: "remote-model",
          choices: [{ finish_reason: "stop", message: { content: "remote answer" }, logprobs: { content: [{ logprob: -0.1 }, { logprob: -0.3 }] } }],
          usage: { prompt_tokens: 11, completion_tokens: 2 },
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it("calls an OpenAI-compatible upstream, and the guardian redacts or blocks what would leave", async () => {
    const guardian = createGuardian({ screener: createScreener(), policy: () => config().guardian, blockInjectionAt: () => "high" });
    const upstream: OctoLlm = guardedLlm(createUpstreamLlm({ url, apiKey: "sk-test-key", timeoutMs: 5000 }), guardian);
    bodies = [];
    const answer = await upstream.chat({ model: "remote", messages: [{ role: "user", content: "My number is 415-555-0132" }], maxTokens: 20, logprobs: true, signal: new AbortController().signal });
    expect(answer).toMatchObject({ text: "remote answer", model: "remote-model", usage: { promptTokens: 11, completionTokens: 2 }, finishReason: "stop" });
    expect(answer.confidence).toBeCloseTo(Math.exp(-0.2));
    expect(bodies[0]).toMatchObject({ path: "/v1/chat/completions", auth: "Bearer sk-test-key", model: "remote", max_tokens: 20, logprobs: true });
    expect(JSON.stringify(bodies[0].messages)).toContain("[PHONE]");
    expect(JSON.stringify(bodies[0].messages)).not.toContain("415-555-0132");

    await expect(
      upstream.chat({ model: "remote", messages: [{ role: "user", content: `key ${"ghp_" + "16C7e42F292c6912E7710c838347Ae178B4a"}` }], maxTokens: 5, signal: new AbortController().signal }),
    ).rejects.toMatchObject({ status: 403, code: "guardian_blocked" });
    expect(bodies).toHaveLength(1);

    const embedded = await upstream.embed("emb", ["hello"], new AbortController().signal);
    expect(embedded).toEqual({ vectors: [[1, 0]], model: "emb", promptTokens: 2 });
  });

  it("routes an arm to its configured upstream", () => {
    const engine = createScriptedLlm(() => ({ text: "local" }));
    const gateway = createModelGateway({
      config: () => config({ upstreams: { remote: { url } }, arms: { coder: { model: "big-coder", upstream: "remote" } } }),
      engine,
      guard: (l) => l,
    });
    expect(gateway.target("coder")).toMatchObject({ model: "big-coder", upstream: "remote" });
    expect(gateway.target("coder").llm).not.toBe(engine);
    expect(gateway.target("writer").llm).toBe(engine);
    const broken = createModelGateway({ config: () => config({ arms: { coder: { model: "x", upstream: "nowhere" } } }), engine, guard: (l) => l });
    expect(() => broken.target("coder")).toThrow(/not in octo.upstreams/);
  });
});

