// Killing LMX mid-task loses nothing, for real: a whole LMX server (its own process, a real model in
// its runner) runs a task and is SIGKILLed in the middle of it; a new server on the same database
// finds the task, sees its owner is dead, and resumes it from its last completed step to the end.
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { Plan, StepRecord } from "../../src/octo/contract.js";
import { testModelPath } from "../support/models.js";
import { json, startTestServer, type TestServer } from "../support/server.js";

const chat = "tiny-chat-phi3-random";
const childScript = fileURLToPath(new URL("./support/lmx-child.ts", import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const dir = mkdtempSync(join(tmpdir(), "lmx-octo-real-crash-"));
const workRoot = mkdtempSync(join(tmpdir(), "lmx-octo-work-"));
chmodSync(workRoot, 0o711);
const dbPath = join(dir, "octo.db");
let child: ChildProcess | null = null;
let server: TestServer | null = null;

afterAll(async () => {
  child?.kill("SIGKILL");
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(workRoot, { recursive: true, force: true });
});

const octoConfig = {
  db_path: dbPath,
  max_plan_steps: 3,
  max_parallel_steps: 1,
  max_repairs: 0,
  prompt_chars: 1200,
  arms: {
    planner: { model: "reasoning", max_tokens: 400 },
    coder: { model: "code", max_tokens: 120 },
    writer: { model: "chat", max_tokens: 120 },
    retriever: { model: "chat", max_tokens: 100 },
    judge: { model: "reasoning", max_tokens: 250 },
    executor: { model: "code", max_tokens: 200 },
  },
  coder: { max_check_rounds: 0 },
  executor: { work_root: workRoot },
};
const aliases = { reasoning: [chat], code: [chat], chat: [chat] };

function readTask(): { status: string; plan: Plan | null; steps: StepRecord[]; owner: string | null } {
  const db = new Database(dbPath, { readonly: true });
  try {
    const task = db.prepare("SELECT status, plan, owner FROM octo_tasks").get() as { status: string; plan: string | null; owner: string | null };
    const steps = (db.prepare("SELECT record FROM octo_steps ORDER BY position").all() as Array<{ record: string }>).map((r) => JSON.parse(r.record) as StepRecord);
    return { status: task.status, plan: task.plan ? (JSON.parse(task.plan) as Plan) : null, steps, owner: task.owner };
  } finally {
    db.close();
  }
}

describe("SIGKILL mid-task", () => {
  it("a new LMX on the same database resumes the task from its last completed step", async () => {
    const modelsDir = join(dir, "models");
    mkdirSync(modelsDir);
    symlinkSync(testModelPath(chat), join(modelsDir, `${chat}.gguf`));
    const config = {
      host: "127.0.0.1",
      port: 0,
      models_dir: modelsDir,
      presets_dir: join(dir, "presets"),
      auto_load: [chat],
      log_level: "warn",
      aliases,
      model_defaults: { threads: 1, parallel: 2, context_size: 2048 },
      octo: octoConfig,
    };
    child = spawn(process.execPath, ["--import", tsx, childScript, JSON.stringify(config)], { stdio: ["ignore", "pipe", "inherit"] });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the child LMX did not start")), 120_000);
      child!.once("exit", (code) => reject(new Error(`the child LMX exited with ${code}`)));
      createInterface({ input: child!.stdout! }).on("line", (line) => {
        if (line.startsWith("listening ")) {
          clearTimeout(timer);
          resolve(line.slice("listening ".length));
        }
      });
    });

    const submitted = await fetch(`${url}/octo/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ goal: "Explain what a lighthouse does, then write a short poem about one.", acceptance_criteria: ["mentions light"] }),
    });
    expect(submitted.status).toBe(202);
    const { task_id: taskId } = await json(submitted);

    // Follow the events; kill once a step has completed and another remains (or, for a one-step
    // plan, once that step is under way).
    const stream = await fetch(`${url}/octo/tasks/${taskId}/events`);
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let steps = 0;
    let completed = 0;
    let started = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the task ended before it could be interrupted");
      buffer += decoder.decode(value, { stream: true });
      const frames = buffer.split("\n\n");
      buffer = frames.pop() ?? "";
      for (const frame of frames) {
        const type = /^event: (\w+)$/m.exec(frame)?.[1];
        if (type === "step_started") started++;
        if (type === "step_completed") completed++;
        if (type === "planned") steps = (JSON.parse(/^data: (.*)$/m.exec(frame)![1]) as { steps: unknown[] }).steps.length;
      }
      if ((steps > 1 && completed >= 1 && started > completed) || (steps === 1 && started === 1)) break;
    }
    const pid = child.pid!;
    await new Promise<void>((resolve) => {
      child!.removeAllListeners("exit");
      child!.once("exit", () => resolve());
      child!.kill("SIGKILL");
    });
    child = null;
    await reader.cancel().catch(() => {});

    const atKill = readTask();
    expect(atKill.status).toBe("running");
    expect(atKill.owner).toContain(`:${pid}:`);
    expect(atKill.plan).not.toBeNull();
    const doneAtKill = atKill.steps.filter((s) => s.status === "completed");
    console.info(`killed with ${doneAtKill.length} of ${steps} steps completed`);
    expect(doneAtKill.length).toBe(steps > 1 ? 1 : 0);

    // A new LMX on the same database.
    server = await startTestServer({ models: [chat], config: { aliases, model_defaults: { context_size: 2048 }, octo: octoConfig } });
    let task: Record<string, unknown> & { status: string };
    for (;;) {
      task = await json(await server.get(`/octo/tasks/${taskId}`));
      if (["completed", "failed", "cancelled"].includes(task.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(task.status, JSON.stringify(task.error)).toBe("completed");
    expect(task.resumes).toBe(1);
    // The plan was kept and the completed step was not run again.
    expect(task.plan).toEqual(atKill.plan);
    const after = task.steps as StepRecord[];
    for (const before of doneAtKill) expect(after.find((s) => s.id === before.id)).toEqual(before);
    expect(after.every((s) => s.status === "completed")).toBe(true);
    const events = await json(await server.get(`/octo/tasks/${taskId}/events?format=json`));
    const types = events.data.map((e: { type: string }) => e.type);
    expect(types.filter((t: string) => t === "planned")).toHaveLength(1);
    expect(types).toContain("resumed");
    expect(types.at(-1)).toBe("completed");
  }, 600_000);
});
