// The /octo API on a real server with real models: tiny-chat-phi3-random (random weights, real Phi-3
// tokenizer and chat template: gibberish text, but grammars keep every structured answer valid)
// behind the arm aliases, and stories260K for embeddings. Every arm is called directly, the
// collections API runs on real FTS5 and real embeddings, and a task runs the whole path:
// reflex → plan → arms → judge → guardian → stored result.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPlan } from "../../src/octo/plan.js";
import { json, startTestServer, type TestServer } from "../support/server.js";

const chat = "tiny-chat-phi3-random";
let server: TestServer;
let workRoot: string;

beforeAll(async () => {
  // The sandbox user must be able to traverse to the work dirs.
  workRoot = mkdtempSync(join(tmpdir(), "lmx-octo-work-"));
  chmodSync(workRoot, 0o711);
  server = await startTestServer({
    models: [chat, "stories260K"],
    config: {
      aliases: { reasoning: [chat], code: [chat], chat: [chat], embedding: ["stories260K"] },
      model_defaults: { context_size: 2048, parallel: 2 },
      octo: {
        max_plan_steps: 3,
        max_repairs: 1,
        prompt_chars: 1500,
        arms: {
          planner: { model: "reasoning", max_tokens: 600 },
          coder: { model: "code", max_tokens: 200 },
          writer: { model: "chat", max_tokens: 160 },
          retriever: { model: "chat", max_tokens: 120 },
          judge: { model: "reasoning", max_tokens: 300 },
          executor: { model: "code", max_tokens: 256 },
        },
        coder: { max_check_rounds: 1 },
        executor: { work_root: workRoot, allowed_binaries: ["python3", "node"] },
      },
    },
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  rmSync(workRoot, { recursive: true, force: true });
});

const callArm = async (arm: string, body: unknown) => {
  const response = await server.post(`/octo/arms/${arm}`, body);
  return { status: response.status, body: await json(response) };
};

describe("arms", () => {
  it("lists every arm's capability descriptor", async () => {
    const response = await server.get("/octo/arms");
    expect(response.status).toBe(200);
    const { data } = await json(response);
    expect(data.map((d: { id: string }) => d.id).sort()).toEqual(["coder", "executor", "guardian", "judge", "planner", "retriever", "writer"]);
    for (const arm of data) {
      expect(arm).toMatchObject({ description: expect.any(String), input_schema: expect.any(Object), output_schema: expect.any(Object), cost_tier: expect.any(String) });
    }
    const byId = Object.fromEntries(data.map((d: { id: string }) => [d.id, d]));
    expect(byId.planner.model).toBe("reasoning");
    expect(byId.coder.model).toBe("code");
    expect(byId.guardian.model).toBeNull();
    expect(byId.executor.available).toBe(true);
  });

  it("planner: a valid plan (a DAG over the plannable arms) under its grammar", async () => {
    const { status, body } = await callArm("planner", { goal: "Summarise the notes and write a script that counts words", acceptance_criteria: ["the script runs"] });
    expect(status).toBe(200);
    const plan = body.output;
    expect(plan.steps.length).toBeGreaterThanOrEqual(1);
    expect(plan.steps.length).toBeLessThanOrEqual(3);
    const arms = ["writer", "coder", "executor", "retriever"];
    const recheck = checkPlan(plan, { arms, maxSteps: 3, fallbackArm: "writer" });
    expect(recheck.errors).toEqual([]);
    expect(body.models).toEqual([chat]);
    expect(body.usage.total_tokens).toBeGreaterThan(0);
  });

  it("judge: answers every criterion with met and a reason, and checks JSON Schemas without a model", async () => {
    const { status, body } = await callArm("judge", { output: "Hello there, friend.", criteria: ["is a greeting", "is under ten words"] });
    expect(status).toBe(200);
    expect(body.output.criteria).toHaveLength(2);
    for (const c of body.output.criteria) expect(c).toEqual({ criterion: expect.any(String), met: expect.any(Boolean), reason: expect.any(String) });
    expect(typeof body.output.passed).toBe("boolean");

    const schema = await callArm("judge", { output: '{"a": 1}', schema: { type: "object", required: ["b"], properties: { a: { type: "string" } } } });
    expect(schema.body.output.passed).toBe(false);
    expect(schema.body.output.issues.map((i: { message: string }) => i.message)).toEqual(["/b is required", "/a expected string, got number"]);
    expect(schema.body.models).toEqual([]);
  });

  it("writer: text from the model", async () => {
    const { status, body } = await callArm("writer", { instruction: "Write one sentence about the sea." });
    expect(status).toBe(200);
    expect(typeof body.output.text).toBe("string");
    expect(body.text.length).toBeGreaterThan(0);
  });

  it("coder: extracts the code and checks it in the sandbox", async () => {
    const { status, body } = await callArm("coder", { task: "Print hello", language: "python" });
    expect(status).toBe(200);
    expect(body.output.language).toBe("python");
    expect(typeof body.output.code).toBe("string");
    // Gibberish rarely compiles: the check ran (and was iterated on) in the sandbox either way.
    expect(body.output.check).toMatchObject({ command: ["python3", "-m", "py_compile", "main.py"], passed: expect.any(Boolean) });
    expect(body.output.check.rounds).toBeGreaterThanOrEqual(1);
    expect(body.output.check.rounds).toBeLessThanOrEqual(2);
  });

  it("executor: runs argv and code in the sandbox, and a model-written command from an instruction", async () => {
    const argv = await callArm("executor", { argv: ["python3", "-c", "import os; print(6 * 7, os.getcwd())"] });
    expect(argv.status).toBe(200);
    expect(argv.body.output).toMatchObject({ exit_code: 0, stdout: "42 /workspace\n", sandboxed: true, timed_out: false });

    const code = await callArm("executor", { code: { language: "javascript", source: "console.log([1, 2, 3].map((x) => x * 2).join(','))" } });
    expect(code.body.output).toMatchObject({ argv: ["node", "main.js"], exit_code: 0, stdout: "2,4,6\n" });

    const escape = await callArm("executor", { argv: ["python3", "-c", "open('/etc/passwd-lmx-test', 'w')"] });
    expect(escape.body.output.exit_code).not.toBe(0);

    const refused = await callArm("executor", { argv: ["bash", "-c", "id"] });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("binary_not_allowed");

    const instructed = await callArm("executor", { instruction: "Print the Python version" });
    expect(instructed.status, JSON.stringify(instructed.body)).toBe(200);
    expect(["python3", "node"]).toContain(instructed.body.output.argv[0]);
    expect(typeof instructed.body.output.exit_code).toBe("number");
  });

  it("guardian: redacts personal data, blocks secrets, fails closed on what it cannot screen", async () => {
    const redacted = await callArm("guardian", { value: "Call 415-555-0132 today" });
    expect(redacted.body.output).toMatchObject({ action: "redact", value: "Call [PHONE] today", redactions: 1 });
    const blocked = await callArm("guardian", { value: { note: "key ghp_16C7e42F292c6912E7710c838347Ae178B4a" } });
    expect(blocked.body.output).toMatchObject({ action: "block", value: null });
    expect(blocked.body.output.findings[0]).toMatch(/api_key \(github_token\)/);
    const policy = await callArm("guardian", { value: "Call 415-555-0132", policy: { pii: "block" } });
    expect(policy.body.output.action).toBe("block");
  });

  it("refuses unknown arms and invalid input with the OpenAI error envelope", async () => {
    const missing = await callArm("painter", {});
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: "arm_not_found", type: "not_found_error" });
    const invalid = await callArm("coder", { language: "python" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.param).toBe("task");
  });
});

describe("collections", () => {
  const docs = [
    { source: "bread.md", title: "Bread", text: "# Bread\n\nA sourdough starter is flour and water fermented by wild yeast. Feed it daily." },
    { source: "space.txt", title: "Space", text: "A nebula is a cloud of gas and dust where new stars are born." },
    { source: "music.txt", title: "Music", text: "Practising with a metronome builds a steady tempo." },
  ];

  it("creates, ingests with real embeddings, lists, queries with citations and deletes", async () => {
    const created = await server.post("/octo/collections", { name: "notes", description: "test notes", chunking: { max_chars: 300, overlap_chars: 40 } });
    expect(created.status).toBe(201);
    const collection = await json(created);
    expect(collection).toMatchObject({ object: "octo.collection", name: "notes", embedding_model: "embedding", dimensions: null });
    expect((await server.post("/octo/collections", { name: "notes" })).status).toBe(409);

    const ingested = await server.post("/octo/collections/notes/documents", { documents: docs });
    expect(ingested.status).toBe(200);
    const { documents } = await json(ingested);
    expect(documents).toHaveLength(3);
    expect(documents.every((d: { deduplicated: boolean; chunks: number }) => !d.deduplicated && d.chunks >= 1)).toBe(true);

    const info = await json(await server.get(`/octo/collections/${collection.id}`));
    expect(info).toMatchObject({ documents: 3, dimensions: expect.any(Number) });
    expect(info.dimensions).toBeGreaterThan(0);
    expect((await json(await server.get("/octo/collections"))).data.map((c: { name: string }) => c.name)).toEqual(["notes"]);
    const listed = await json(await server.get("/octo/collections/notes/documents?limit=2"));
    expect(listed.data).toHaveLength(2);

    for (const mode of ["fts", "hybrid", "vector"]) {
      const response = await server.post("/octo/collections/notes/query", { query: "sourdough starter", mode, top_k: 2 });
      expect(response.status, mode).toBe(200);
      const { results } = await json(response);
      expect(results.length, mode).toBeGreaterThan(0);
      if (mode !== "vector") expect(results[0].citation).toMatchObject({ source: "bread.md", title: "Bread", heading: "Bread" });
    }

    const doc = documents[2].document_id;
    expect((await json(await server.get(`/octo/collections/notes/documents/${doc}`))).source).toBe("music.txt");
    const deleted = await fetch(`${server.url}/octo/collections/notes/documents/${doc}`, { method: "DELETE" });
    expect(await json(deleted)).toMatchObject({ id: doc, deleted: true });
    const gone = await server.get(`/octo/collections/notes/documents/${doc}`);
    expect(gone.status).toBe(404);
    expect((await json(gone)).error.code).toBe("document_not_found");

    const bad = await server.post("/octo/collections/notes/query", { query: "" });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.param).toBe("query");
  });

  it("the retriever arm answers from the collections with citations", async () => {
    const { status, body } = await callArm("retriever", { query: "nebula stars", top_k: 2 });
    expect(status).toBe(200);
    expect(body.output.passages[0]).toMatchObject({ ref: 1, collection: "notes", citation: { source: "space.txt" } });
    expect(typeof body.output.answer).toBe("string");
    expect(body.text).toMatch(/Sources:\n\[1\] space\.txt/);
  });

  it("deletes a collection", async () => {
    const response = await fetch(`${server.url}/octo/collections/notes`, { method: "DELETE" });
    expect(response.status).toBe(200);
    expect((await server.get("/octo/collections/notes")).status).toBe(404);
  });
});

interface SseFrame {
  event: string;
  id: string | null;
  data: Record<string, unknown>;
}

async function readEvents(response: Response): Promise<SseFrame[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((frame) => frame.trim())
    .filter((frame) => frame.includes("data: "))
    .map((frame) => {
      const lines = frame.split("\n");
      const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
      return { event: field("event") ?? "message", id: field("id"), data: JSON.parse(field("data") as string) as Record<string, unknown> };
    });
}

describe("tasks end to end on the real model", () => {
  let taskId = "";

  it("runs reflex → plan → arms → judge → guardian → stored result, streaming events", async () => {
    const contract = {
      goal: "Summarise the notes below in one sentence, then write a Python script that counts the words in them.",
      context: [{ name: "notes.txt", content: "Octo plans tasks, runs each step on a local model and checks the results." }],
      acceptance_criteria: ["The summary is one sentence"],
      priority: "medium",
      metadata: { test: "e2e" },
      // Room for the worst case: on random weights every step may be retried, with two judge calls per
      // attempt. The default 20,000 tokens ran out in 3 of 90 runs (at 20.2–20.4k); budgets are tested below.
      budget: { max_tokens: 100_000 },
    };
    const submitted = await server.post("/octo/tasks", contract, { "idempotency-key": "e2e-1" });
    expect(submitted.status).toBe(202);
    const body = await json(submitted);
    expect(body).toMatchObject({ task_id: expect.stringMatching(/^task_/), status: "pending" });
    expect(submitted.headers.get("location")).toBe(`/octo/tasks/${body.task_id}`);
    taskId = body.task_id;

    const again = await server.post("/octo/tasks", contract, { "idempotency-key": "e2e-1" });
    expect(again.status).toBe(202);
    expect((await json(again)).task_id).toBe(taskId);
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    const stream = await server.get(`/octo/tasks/${taskId}/events`);
    expect(stream.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = await readEvents(stream);
    const types = events.map((e) => e.event);
    expect(types[0]).toBe("created");
    expect(types).toEqual(expect.arrayContaining(["screened", "planned", "step_started", "judged", "step_completed"]));
    // On failure, the message carries the task's own account of why.
    expect(types.at(-1), JSON.stringify(events.filter((e) => /failed|retried/.test(e.event)))).toBe("completed");
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1));

    const task = await json(await server.get(`/octo/tasks/${taskId}`));
    expect(task).toMatchObject({ object: "octo.task", id: taskId, status: "completed", error: null });
    expect(task.contract.metadata).toEqual({ test: "e2e" });
    const recheck = checkPlan({ steps: task.plan.steps }, { arms: ["writer", "coder", "executor", "retriever"], maxSteps: 3, fallbackArm: "writer" });
    expect(recheck.errors).toEqual([]);
    expect(task.steps.length).toBe(task.plan.steps.length);
    for (const step of task.steps) {
      expect(step.status).toBe("completed");
      expect(step.judgement).toMatchObject({ passed: expect.any(Boolean), issues: expect.any(Array) });
      expect(step.provenance).toMatchObject({ arm: step.arm, retries: expect.any(Number), duration_ms: expect.any(Number) });
      expect(step.provenance.models).toContain(chat);
      expect(step.provenance.tokens.prompt).toBeGreaterThan(0);
    }
    expect(typeof task.result.text).toBe("string");
    expect(task.result.guardian).toMatchObject({ action: expect.stringMatching(/^(pass|redact)$/) });
    expect(typeof task.result.verified).toBe("boolean");
    expect(task.tokens.total).toBe(task.tokens.prompt + task.tokens.completion);
    expect(task.tokens.total).toBeGreaterThan(0);
    expect(task.timings.started_at).not.toBeNull();
    expect(task.timings.finished_at).not.toBeNull();

    const listed = await json(await server.get("/octo/tasks?status=completed&limit=5"));
    expect(listed.data.map((t: { id: string }) => t.id)).toContain(taskId);
  }, 600_000);

  it("replays the event log after Last-Event-ID, also once the task has finished", async () => {
    const all = await readEvents(await server.get(`/octo/tasks/${taskId}/events`));
    const tail = await readEvents(await server.get(`/octo/tasks/${taskId}/events`, { "last-event-id": String(all.length - 2) }));
    expect(tail.map((e) => e.id)).toEqual([String(all.length - 1), String(all.length)]);
    const asJson = await json(await server.get(`/octo/tasks/${taskId}/events?format=json&after=1`));
    expect(asJson.data).toHaveLength(all.length - 1);
  });

  it("stops a task at its token budget, with the reason", async () => {
    const { task_id } = await json(await server.post("/octo/tasks", { goal: "Write a long essay about the sea", budget: { max_tokens: 40 } }));
    await readEvents(await server.get(`/octo/tasks/${task_id}/events`));
    const task = await json(await server.get(`/octo/tasks/${task_id}`));
    expect(task.status).toBe("failed");
    expect(task.error).toMatchObject({ code: "budget_exceeded" });
    expect(task.tokens.total).toBeGreaterThan(40);
  }, 120_000);

  it("cancels a running task over HTTP and aborts its generation", async () => {
    const { task_id } = await json(await server.post("/octo/tasks", { goal: "Write a very long story about a lighthouse keeper" }));
    // Wait until the planner is generating, then cancel.
    for (let i = 0; i < 200; i++) {
      const task = await json(await server.get(`/octo/tasks/${task_id}`));
      if (task.status !== "pending") break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const started = Date.now();
    const response = await server.post(`/octo/tasks/${task_id}/cancel`, {});
    expect(response.status).toBe(200);
    const task = await json(response);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(task.status).toBe("cancelled");
    const again = await server.post(`/octo/tasks/${task_id}/cancel`, {});
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe("task_finished");
  }, 120_000);

  it("answers errors in the OpenAI envelope", async () => {
    const missing = await server.get("/octo/tasks/task_nope");
    expect(missing.status).toBe(404);
    expect((await json(missing)).error).toMatchObject({ code: "task_not_found", type: "not_found_error" });
    const noGoal = await server.post("/octo/tasks", { constraints: ["x"] });
    expect(noGoal.status).toBe(400);
    expect((await json(noGoal)).error).toMatchObject({ param: "goal", code: "missing_required_parameter" });
    const badPriority = await server.post("/octo/tasks", { goal: "x", priority: "urgent" });
    expect((await json(badPriority)).error.param).toBe("priority");
    const badFilter = await server.get("/octo/tasks?status=sleeping");
    expect(badFilter.status).toBe(400);
    const badKey = await server.post("/octo/tasks", { goal: "x" }, { "idempotency-key": "has space" });
    expect((await json(badKey)).error.code).toBe("invalid_idempotency_key");
  });
});

describe("lmx task on the real model", () => {
  it("plans, runs and prints a result, with live progress", async () => {
    const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const port = new URL(server.url).port;
    const home = mkdtempSync(join(tmpdir(), "lmx-cli-home-"));
    const child = spawn(process.execPath, ["--import", tsx, main, "task", "Write a two-line poem about the sea", "--criteria", "has two lines", "--host", "127.0.0.1", "--port", port], {
      env: { ...process.env, HOME: home, LMX_CONFIG: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    rmSync(home, { recursive: true, force: true });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/^Task task_\w+$/m);
    expect(stderr).toMatch(/Plan: \d steps?/);
    expect(stderr).toMatch(/✓ /);
    expect(stderr).toMatch(/Done(, unverified)? in/);
    expect(stdout.length).toBeGreaterThan(1);
  }, 600_000);
});
