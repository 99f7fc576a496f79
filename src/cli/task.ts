/**
 * `lmx task "goal"`: hands a goal to Octo on the running server (POST /octo/tasks), follows its
 * events (SSE) as live progress on stderr, and prints the result on stdout. Ctrl-C cancels the task.
 * The stream is resumed from the last event if the connection drops (tasks survive a server restart).
 */
import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { isAbortError } from "../errors.js";
import { action } from "./action.js";
import { apiError, LmxClient, networkReason } from "./client/lmx-client.js";
import { readSseEvents } from "./client/sse.js";
import { cliConfig, serverUrl, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { CliError, interrupted } from "./errors.js";
import { formatElapsed, toJson } from "./format.js";
import { onInterrupt } from "./interrupt.js";
import { integerIn, numberIn } from "./options.js";

interface TaskFlags extends ConnectionFlags {
  criteria: string[];
  constraint: string[];
  file: string[];
  priority?: string;
  maxTokens?: number;
  maxTime?: number;
  maxSteps?: number;
  key?: string;
  detach?: boolean;
  json?: boolean;
  quiet?: boolean;
}

interface TaskView {
  id: string;
  status: string;
  result: { text: string; output: unknown; verified: boolean; unmet: Array<{ step: string; message: string }> } | null;
  error: { code: string; message: string; step?: string } | null;
  tokens: { total: number };
  timings: { elapsed_ms: number };
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerTask(program: Command): void {
  const command = program
    .command("task")
    .description("Give Octo a goal: it plans, runs the steps on local models, checks them and prints the result")
    .argument("<goal...>", "what to do (quote it, or give it as several words)")
    .option("-a, --criteria <text>", "an acceptance criterion the result must meet (repeatable)", collect, [])
    .option("--constraint <text>", "a constraint on how (repeatable)", collect, [])
    .option("-f, --file <path>", "a file the task works on, sent as context (repeatable)", collect, [])
    .option("--priority <level>", "low, medium, high or critical (high and critical decide by swarm)")
    .option("--max-tokens <n>", "token budget", integerIn(1))
    .option("--max-time <seconds>", "wall-time budget", numberIn(0.001, 7 * 24 * 3600))
    .option("--max-steps <n>", "step budget (repairs count)", integerIn(1))
    .option("--key <key>", "idempotency key: submitting again with it returns the same task")
    .option("-d, --detach", "print the task id and return at once")
    .option("--json", "print the finished task as JSON")
    .option("-q, --quiet", "no progress lines, only the result");
  withConnectionOptions(command, { modelsDir: false }).action(
    action(async (words: string[], flags: TaskFlags) => {
      const config = cliConfig(flags);
      const client = new LmxClient(serverUrl(config), { adminKey: config.admin_key, apiKey: config.api_key });
      if (flags.priority && !["low", "medium", "high", "critical"].includes(flags.priority)) {
        throw new CliError(`--priority must be low, medium, high or critical, not '${flags.priority}'`);
      }
      const contract = {
        goal: words.join(" "),
        acceptance_criteria: flags.criteria,
        constraints: flags.constraint,
        context: flags.file.map((path) => ({ name: basename(path), content: readContextFile(path) })),
        ...(flags.priority ? { priority: flags.priority } : {}),
        budget: {
          ...(flags.maxTokens ? { max_tokens: flags.maxTokens } : {}),
          ...(flags.maxTime ? { max_time_seconds: flags.maxTime } : {}),
          ...(flags.maxSteps ? { max_steps: flags.maxSteps } : {}),
        },
      };
      const submitted = await submit(client, config.api_key, contract, flags.key);
      if (flags.detach) {
        console.log(submitted);
        return;
      }
      const progress = flags.quiet || flags.json ? () => {} : (line: string) => console.error(line);
      progress(`Task ${submitted}`);
      const interrupt = onInterrupt();
      try {
        await follow(client, submitted, progress, interrupt.signal);
      } catch (err) {
        if (!interrupt.signal.aborted || !isAbortError(err)) throw err;
      } finally {
        interrupt.dispose();
      }
      if (interrupt.signal.aborted) {
        await client.open("POST", `/octo/tasks/${submitted}/cancel`).catch(() => {});
        throw interrupted(`Cancelled task ${submitted}.`);
      }
      const task = (await (await client.open("GET", `/octo/tasks/${submitted}`)).json()) as TaskView;
      report(task, flags, progress);
    }),
  );
}

/** POST /octo/tasks (with an Idempotency-Key when given); LmxClient has no per-call headers, so plain fetch. */
async function submit(client: LmxClient, apiKey: string | null, contract: Record<string, unknown>, key: string | undefined): Promise<string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  if (key) headers["idempotency-key"] = key;
  let response: Response;
  try {
    response = await fetch(`${client.baseUrl}/octo/tasks`, { method: "POST", headers, body: JSON.stringify(contract) });
  } catch (err) {
    throw new CliError(`cannot reach the LMX server at ${client.baseUrl}: ${networkReason(err)}; start it with \`lmx serve\``);
  }
  if (!response.ok) throw await apiError(response);
  return ((await response.json()) as { task_id: string }).task_id;
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/** Prints events until the task ends; a dropped stream is picked up again after its last event. */
async function follow(client: LmxClient, id: string, progress: (line: string) => void, signal: AbortSignal): Promise<void> {
  let last = 0;
  let failures = 0;
  for (;;) {
    try {
      const response = await client.open("GET", `/octo/tasks/${id}/events?after=${last}`, { signal });
      if (!response.body) throw new Error("no event stream");
      for await (const event of readSseEvents(response.body, signal)) {
        if (event.id !== null) last = Number(event.id);
        failures = 0;
        const data = JSON.parse(event.data) as Record<string, unknown>;
        const line = describe(event.event, data);
        if (line) progress(line);
        if (TERMINAL.has(event.event)) return;
      }
    } catch (err) {
      if (signal.aborted) throw err;
      if (++failures > 30) throw err;
      if (failures === 1) progress(`(connection lost: ${(err as Error).message}; retrying)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function describe(type: string, data: Record<string, unknown>): string | null {
  switch (type) {
    case "planned": {
      const steps = (data.steps as Array<{ id: string; arm: string; action: string; depends_on: string[] }>) ?? [];
      return [`Plan: ${steps.length} step${steps.length === 1 ? "" : "s"}`, ...steps.map((s) => `  ${s.id} [${s.arm}] ${oneLine(s.action)}${s.depends_on.length ? ` (after ${s.depends_on.join(", ")})` : ""}`)].join("\n");
    }
    case "step_started":
      return `▸ ${data.step} [${data.arm}]${data.swarm ? " (swarm)" : ""}`;
    case "step_retried":
      return `↻ ${data.step} attempt ${data.attempt}: ${oneLine(((data.feedback as string[]) ?? [])[0] ?? "")}`;
    case "judged":
      return data.passed ? null : `  ✗ ${data.step ?? "final answer"}: ${oneLine(((data.issues as Array<{ message: string }>) ?? []).find(Boolean)?.message ?? "rejected")}`;
    case "step_completed": {
      const tokens = data.tokens as { prompt: number; completion: number } | undefined;
      return `✓ ${data.step}${data.passed ? "" : " (criteria not all met)"} ${formatElapsed(Number(data.duration_ms) || 0)}${tokens ? `, ${tokens.prompt + tokens.completion} tokens` : ""}`;
    }
    case "step_failed":
      return `✗ ${data.step} failed: ${oneLine((data.error as { message?: string })?.message ?? "")}`;
    case "resumed":
      return `(resumed after a restart)`;
    default:
      return null;
  }
}

function report(task: TaskView, flags: TaskFlags, progress: (line: string) => void): void {
  if (flags.json) {
    console.log(toJson(task));
  } else if (task.result) {
    console.log(task.result.text);
    for (const unmet of task.result.unmet) progress(`warning: ${unmet.step}: ${oneLine(unmet.message)}`);
    progress(`${task.result.verified ? "Done" : "Done, unverified"} in ${formatElapsed(task.timings.elapsed_ms)}, ${task.tokens.total} tokens.`);
  }
  if (task.status === "failed") throw new CliError(`task ${task.id} failed${task.error?.step ? ` at step ${task.error.step}` : ""}: ${task.error?.message ?? "unknown error"}`);
  if (task.status === "cancelled") throw interrupted(`Task ${task.id} was cancelled.`);
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}

function readContextFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
