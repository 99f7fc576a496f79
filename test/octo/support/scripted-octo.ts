// Octo on a scripted model: each arm has its own model name (m-planner, m-writer, …) so a script can
// tell who is asking, and helpers read what the orchestrator put in the prompts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { octoConfigSchema, type OctoConfig } from "../../../src/octo/config.js";
import { createOcto, type Octo, type OctoDeps } from "../../../src/octo/index.js";
import type { LlmRequest } from "../../../src/octo/llm.js";
import { createScriptedLlm, type ScriptedAnswer, type ScriptedLlm, type ScriptHandler } from "../../../src/octo/llm/scripted.js";
import type { TaskSandbox } from "../../../src/octo/task-sandbox.js";
import type { TaskRecord } from "../../../src/octo/contract.js";
import { FINISHED_STATUSES } from "../../../src/octo/contract.js";

export type ArmName = "planner" | "writer" | "coder" | "retriever" | "judge" | "executor";

export const armModels = (): Record<ArmName, { model: string }> => ({
  planner: { model: "m-planner" },
  writer: { model: "m-writer" },
  coder: { model: "m-coder" },
  retriever: { model: "m-retriever" },
  judge: { model: "m-judge" },
  executor: { model: "m-executor" },
});

export function armOf(request: LlmRequest): ArmName {
  return request.model.replace(/^m-/, "") as ArmName;
}

/** The last user message. */
export function lastUser(request: LlmRequest): string {
  const user = [...request.messages].reverse().find((m) => m.role === "user");
  return (user?.content as string | undefined) ?? "";
}

/** A judge request's criteria and the output it reviews. */
export function judgeQuestion(request: LlmRequest): { criteria: string[]; output: string } {
  const text = lastUser(request);
  const output = /Output to review:\n"""\n([\s\S]*?)\n"""/.exec(text)?.[1] ?? "";
  const criteria = [...text.matchAll(/^c\d+: (.*)$/gm)].map((m) => m[1]);
  return { criteria, output };
}

/** A judge answer: `met(criterion, output)` decides each criterion. */
export function judgeAnswer(request: LlmRequest, met: (criterion: string, output: string) => boolean = () => true): ScriptedAnswer {
  const { criteria, output } = judgeQuestion(request);
  const json: Record<string, { met: boolean; reason: string }> = {};
  criteria.forEach((criterion, i) => {
    const ok = met(criterion, output);
    json[`c${i + 1}`] = { met: ok, reason: ok ? "it does" : "it does not" };
  });
  return { json };
}

export interface ScriptedOctoOptions {
  handler: ScriptHandler;
  config?: Record<string, unknown>;
  dbPath?: string;
  sandbox?: TaskSandbox;
}

export interface ScriptedOcto {
  octo: Octo;
  llm: ScriptedLlm;
  config: OctoConfig;
  dbPath: string;
  dir: string;
  close(): Promise<void>;
}

/** A sandbox that is not there: the executor is not offered to the planner. */
export const noSandbox: TaskSandbox = {
  status: async () => ({ available: false, sandboxed: false, mode: null, reason: "not in this test", binaries: [] }),
  run: async () => {
    throw new Error("no sandbox in this test");
  },
  release: async () => {},
};

export async function startScriptedOcto(options: ScriptedOctoOptions): Promise<ScriptedOcto> {
  const dir = mkdtempSync(join(tmpdir(), "lmx-octo-test-"));
  const dbPath = options.dbPath ?? join(dir, "octo.db");
  const config = octoConfigSchema.parse({ db_path: dbPath, arms: armModels(), lease_seconds: 2, ...options.config });
  const llm = createScriptedLlm(options.handler);
  const deps: OctoDeps = {
    config: () => config,
    router: undefined as unknown as OctoDeps["router"],
    models: undefined as unknown as OctoDeps["models"],
    events: undefined as unknown as OctoDeps["events"],
    log: pino({ level: process.env.LMX_TEST_LOG ? "debug" : "silent" }),
    llm,
    sandbox: options.sandbox ?? noSandbox,
  };
  const octo = await createOcto(deps);
  return {
    octo,
    llm,
    config,
    dbPath,
    dir,
    async close() {
      await octo.close();
      if (!options.dbPath) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the task is finished (or `until` says so). */
export async function waitForTask(octo: Octo, id: string, until: (task: TaskRecord) => boolean = (t) => FINISHED_STATUSES.has(t.status), timeoutMs = 20_000): Promise<TaskRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await octo.tasks.get(id);
    if (until(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} still ${task.status} after ${timeoutMs} ms: ${JSON.stringify(task.error ?? task.steps.map((s) => [s.id, s.status]))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type { ScriptedAnswer };
