// A restart never loses a submitted task. The crash is real: Octo runs in a child process on a
// scripted slow model and is SIGKILLed in the middle of a step; a new instance on the same database
// takes the task over (the dead process's claim is recognised), keeps the plan and the completed
// step, re-runs the interrupted one and finishes. Also: failing instead of resuming by config, too
// many resumes, and a graceful stop that leaves the task for the next start.
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { taskContractSchema, type StepRecord } from "../../src/octo/contract.js";
import { armOf, judgeAnswer, lastUser, startScriptedOcto, waitForTask, type ScriptedOcto } from "./support/scripted-octo.js";

const childScript = fileURLToPath(new URL("./support/octo-child.ts", import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

let dir = "";
let octo: ScriptedOcto | null = null;
let child: ChildProcess | null = null;
afterEach(async () => {
  child?.kill("SIGKILL");
  await octo?.close();
  octo = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the child and resolves once `ready(events)` holds; returns the task id. */
function runChild(dbPath: string, ready: (events: Array<{ type: string; data: Record<string, unknown> }>) => boolean): Promise<string> {
  child = spawn(process.execPath, ["--import", tsx, childScript, dbPath], { stdio: ["ignore", "pipe", "inherit"] });
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  let taskId = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child not ready; events: ${JSON.stringify(events.map((e) => e.type))}`)), 60_000);
    child!.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
    createInterface({ input: child!.stdout! }).on("line", (line) => {
      if (line.startsWith("task ")) taskId = line.slice(5);
      else if (line.startsWith("{")) events.push(JSON.parse(line) as { type: string; data: Record<string, unknown> });
      if (taskId && ready(events)) {
        clearTimeout(timer);
        resolve(taskId);
      }
    });
  });
}

async function kill(): Promise<void> {
  const proc = child!;
  proc.removeAllListeners("exit");
  // Wait for the exit (and its reaping): a zombie still answers kill(pid, 0).
  await new Promise<void>((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
  child = null;
}

const fastScript = (seen: string[]) => (request: Parameters<typeof lastUser>[0]) => {
  if (armOf(request) === "judge") return judgeAnswer(request);
  const action = lastUser(request).split("\n")[0];
  seen.push(`${armOf(request)}:${action}`);
  return { text: `new instance did ${action}` };
};

function readSteps(dbPath: string, taskId: string): StepRecord[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare("SELECT record FROM octo_steps WHERE task_id = ? ORDER BY position").all(taskId) as Array<{ record: string }>).map((r) => JSON.parse(r.record) as StepRecord);
  } finally {
    db.close();
  }
}

describe("crash and resume", () => {
  it("resumes a task from its last completed step after the process running it is SIGKILLed", async () => {
    dir = mkdtempSync(join(tmpdir(), "lmx-octo-crash-"));
    const dbPath = join(dir, "octo.db");
    const taskId = await runChild(dbPath, (events) => events.some((e) => e.type === "step_started" && e.data.step === "s2"));
    await kill();

    const before = readSteps(dbPath, taskId);
    expect(before.map((s) => s.status)).toEqual(["completed", "running", "pending"]);
    expect(before[0].output_text).toBe("child did S1: gather");

    const seen: string[] = [];
    octo = await startScriptedOcto({ dbPath, handler: fastScript(seen) });
    const task = await waitForTask(octo.octo, taskId);
    expect(task.status).toBe("completed");
    expect(task.resumes).toBe(1);
    // The plan was kept (no planner call), s1 not run again, s2 and s3 run by the new instance.
    expect(seen).toEqual(["writer:S2: think slowly", "writer:S3: conclude"]);
    expect(task.steps[0]).toEqual(before[0]);
    expect(task.steps[1].output_text).toBe("new instance did S2: think slowly");
    expect(task.steps[1].attempts).toBe(2);
    expect(task.result?.text).toBe("new instance did S3: conclude");
    const events = await octo.octo.tasks.events(taskId, 0);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === "planned")).toHaveLength(1);
    expect(types).toContain("resumed");
    expect(types.at(-1)).toBe("completed");
  });

  it("fails an interrupted task with the reason when octo.on_restart is 'fail'", async () => {
    dir = mkdtempSync(join(tmpdir(), "lmx-octo-crash-"));
    const dbPath = join(dir, "octo.db");
    const taskId = await runChild(dbPath, (events) => events.some((e) => e.type === "step_started" && e.data.step === "s2"));
    await kill();
    octo = await startScriptedOcto({ dbPath, config: { on_restart: "fail" }, handler: fastScript([]) });
    const task = await waitForTask(octo.octo, taskId);
    expect(task.status).toBe("failed");
    expect(task.error).toMatchObject({ code: "interrupted" });
    expect(task.error?.message).toMatch(/LMX stopped while the task ran/);
    expect(octo.llm.calls).toHaveLength(0);
  });

  it("leaves running tasks to the next start on a graceful stop, without counting a resume", async () => {
    dir = mkdtempSync(join(tmpdir(), "lmx-octo-stop-"));
    const dbPath = join(dir, "octo.db");
    const slow = (request: Parameters<typeof lastUser>[0]) => {
      if (armOf(request) === "judge") return judgeAnswer(request);
      if (armOf(request) === "planner") {
        return { json: { steps: [{ id: "only", arm: "writer", action: "Only: wait", acceptance_criteria: [], depends_on: [], swarm: false }] } };
      }
      return { text: "never", delayMs: 60_000 };
    };
    octo = await startScriptedOcto({ dbPath, handler: slow });
    const { task } = await octo.octo.tasks.submit(taskContractSchema.parse({ goal: "Outlive a restart" }), null);
    await waitForTask(octo.octo, task.id, (t) => t.steps.some((s) => s.status === "running"));
    await octo.close();

    const seen: string[] = [];
    octo = await startScriptedOcto({ dbPath, handler: fastScript(seen) });
    const resumed = await waitForTask(octo.octo, task.id);
    expect(resumed.status).toBe("completed");
    expect(resumed.resumes).toBe(0);
    expect(seen).toEqual(["writer:Only: wait"]);
  });
});
