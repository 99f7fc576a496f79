/**
 * Octo, the orchestrator: tasks planned, executed, checked and remembered on local models. This file
 * wires the pieces; see orchestrator.ts (which tasks run), run-task.ts (one task's loop),
 * step-runner.ts (one step: arm, judge, repairs, swarm), arms/ (the specialists), store/ (SQLite).
 */
import { LmxError } from "../errors.js";
import type { ModelManager } from "../models/lifecycle.js";
import { createScreener, type Screener, type Severity } from "../reflex/index.js";
import type { ModelRouter } from "../router/router.js";
import type { EventBus } from "../telemetry/events.js";
import type { Logger } from "../telemetry/logger.js";
import { armContext } from "./arm-context.js";
import { createArms, type ArmDescriptor } from "./arms/index.js";
import { createGuardian, guardedLlm } from "./arms/guardian.js";
import { meteredLlm, TaskBudget } from "./budget.js";
import type { OctoConfig } from "./config.js";
import { armNotFound } from "./errors.js";
import type { OctoLlm } from "./llm.js";
import { createEngineLlm } from "./llm/engine.js";
import { createModelGateway } from "./llm/gateway.js";
import { createMemory } from "./memory.js";
import { createOrchestrator } from "./orchestrator.js";
import { createRetriever, parseRequest, type Retriever } from "./retriever/index.js";
import { createSqliteStore, openOctoDatabase } from "./store/sqlite.js";
import { createTaskEvents } from "./task-events.js";
import { createTaskSandbox, type TaskSandbox } from "./task-sandbox.js";
import { createTaskService, type TaskService } from "./tasks.js";

/** What Octo needs from the rest of LMX: the engine through the router, never over HTTP. */
export interface OctoDeps {
  config: () => OctoConfig;
  router: ModelRouter;
  models: ModelManager;
  events: EventBus;
  log: Logger;
  /** Replaces the local engine for every arm (tests use a scripted model). */
  llm?: OctoLlm;
  /** The reflex screener (one per server); a default one is created when absent. */
  screener?: Screener;
  /** The executor's sandbox (tests may pass their own). */
  sandbox?: TaskSandbox;
}

export interface ArmCallResult {
  arm: string;
  output: unknown;
  text: string;
  models: string[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  duration_ms: number;
  guardian: { action: "pass" | "redact"; redactions: number; findings: string[] };
}

export interface OctoArms {
  list(): Promise<ArmDescriptor[]>;
  /** Calls one arm directly (outside any task), with the default budget, through the guardian. */
  call(arm: string, input: unknown, signal: AbortSignal): Promise<ArmCallResult>;
}

/** The orchestrator: tasks, arms, collections, memory. */
export interface Octo {
  tasks: TaskService;
  arms: OctoArms;
  /** Knowledge collections (the retriever, embedding with octo.embedding_model). */
  collections(): Retriever;
  close(): Promise<void>;
}

export async function createOcto(deps: OctoDeps): Promise<Octo> {
  const log = deps.log;
  const db = openOctoDatabase(deps.config().db_path);
  const store = createSqliteStore(db);
  const screener = deps.screener ?? createScreener();
  const guardian = createGuardian({
    screener,
    policy: () => deps.config().guardian,
    blockInjectionAt: () => deps.config().reflex.block_injection_at as Severity | "never",
  });
  const engine = deps.llm ?? createEngineLlm({ router: deps.router });
  const gateway = createModelGateway({ config: deps.config, engine, guard: (llm) => guardedLlm(llm, guardian) });
  const sandbox = deps.sandbox ?? createTaskSandbox({ config: () => deps.config().executor, log: log.child({ component: "executor" }) });

  // The retriever records the embedding model on each collection; a config change makes a new one.
  let retriever: { model: string; instance: Retriever } | null = null;
  const collections = (): Retriever => {
    const model = deps.config().embedding_model;
    if (!retriever || retriever.model !== model) {
      const embed = async (texts: string[], signal: AbortSignal) => {
        try {
          return (await engine.embed(model, texts, signal)).vectors;
        } catch (err) {
          if (!(err instanceof LmxError && err.code === "model_not_found")) throw err;
          throw new LmxError(
            `Collections are embedded with octo.embedding_model '${model}', which is no model or alias here: set octo.embedding_model, or an '${model}' alias in aliases.`,
            { status: 404, type: err.type, code: "model_not_found", param: "octo.embedding_model", cause: err },
          );
        }
      };
      retriever = { model, instance: createRetriever({ db, embed, embeddingModel: model }) };
    }
    return retriever.instance;
  };
  collections();

  const arms = createArms({ config: deps.config, sandbox, retriever: collections, guardian });
  const memory = createMemory({ store, log });
  const events = createTaskEvents({ store, log });
  const orchestrator = createOrchestrator({ store, arms, gateway, guardian, memory, events, sandbox, config: deps.config, log });
  const tasks = createTaskService({ store, orchestrator, events, guardian });

  const armService: OctoArms = {
    list: () => arms.describeAll(),
    async call(id, body, signal) {
      const arm = arms.get(id);
      if (!arm) throw armNotFound(id);
      const input = parseRequest(arm.input, body ?? {});
      const config = deps.config();
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      const budget = new TaskBudget(
        { maxTokens: config.default_budget.max_tokens, maxTimeMs: config.default_budget.max_time_seconds * 1000, maxSteps: 1 },
        { tokens: 0, elapsedMs: 0, steps: 0 },
        (error) => controller.abort(error),
      );
      const usage = { promptTokens: 0, completionTokens: 0 };
      const models = new Set<string>();
      const started = performance.now();
      budget.start();
      try {
        const out = await arm.run(
          input,
          armContext(gateway, arm.id, {
            signal: controller.signal,
            taskId: null,
            wrap: (llm) =>
              meteredLlm(llm, budget, {
                priority: 0,
                onUsage: (u, model) => {
                  models.add(model);
                  usage.promptTokens += u.promptTokens;
                  usage.completionTokens += u.completionTokens;
                },
              }),
            examples: await memory.examples(arm.id, config.memory.episodic_examples),
            promptChars: config.prompt_chars,
            log,
          }),
        );
        const result: ArmCallResult = {
          arm: arm.id,
          output: out.output,
          text: out.text,
          models: [...models],
          usage: { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens },
          duration_ms: Math.round(performance.now() - started),
          guardian: { action: "pass", redactions: 0, findings: [] },
        };
        // The guardian's own answer is the gate's verdict; every other arm's answer goes through it.
        if (arm.id === "guardian") return result;
        const { value, decision } = guardian.release({ output: out.output, text: out.text });
        return { ...result, ...value, guardian: { action: decision.action === "redact" ? "redact" : "pass", redactions: decision.redactions, findings: decision.findings } };
      } catch (err) {
        // A budget that ran out explains the abort better than the abort itself.
        throw budget.exceededError ?? err;
      } finally {
        budget.stop();
        signal.removeEventListener("abort", onAbort);
      }
    },
  };

  log.info({ db: deps.config().db_path }, "octo ready");
  return {
    tasks,
    arms: armService,
    collections,
    async close() {
      await orchestrator.close();
      await store.close();
      db.close();
    },
  };
}

export type { OctoConfig } from "./config.js";
export type { TaskContract, TaskRecord, TaskEvent } from "./contract.js";
