/**
 * Builds the context an arm runs in: its model call bound to the arm's configured target (through
 * the task's meter), the signal, the examples and feedback, and swarm sampling overrides.
 */
import { LmxError } from "../errors.js";
import type { Logger } from "../telemetry/logger.js";
import type { ArmChatRequest, ArmContext, ArmId, ModelArmId } from "./arms/types.js";
import type { OctoLlm } from "./llm.js";
import type { ModelGateway } from "./llm/gateway.js";
import type { Episode } from "./store/types.js";

const MODEL_ARMS: ReadonlySet<string> = new Set(["planner", "coder", "writer", "retriever", "judge", "executor"]);

export interface ArmCallOptions {
  signal: AbortSignal;
  taskId: string | null;
  /** Wraps the model the arm calls: the task's budget meter and usage accounting. */
  wrap(llm: OctoLlm): OctoLlm;
  examples?: readonly Episode[];
  feedback?: readonly string[];
  /** Swarm proposals differ by these. */
  sampling?: { seed?: number; temperature?: number };
  promptChars: number;
  log: Logger;
}

export function armContext(gateway: ModelGateway, arm: ArmId, options: ArmCallOptions): ArmContext {
  return {
    signal: options.signal,
    taskId: options.taskId,
    examples: options.examples ?? [],
    feedback: options.feedback ?? [],
    promptChars: options.promptChars,
    log: options.log,
    async chat(request: ArmChatRequest) {
      if (!MODEL_ARMS.has(arm)) {
        throw new LmxError(`The ${arm} arm has no model.`, { status: 500, type: "server_error", code: "arm_without_model" });
      }
      const target = gateway.target(arm as ModelArmId);
      return options.wrap(target.llm).chat({
        ...request,
        model: target.model,
        maxTokens: Math.min(request.maxTokens ?? target.maxTokens, target.maxTokens),
        temperature: options.sampling?.temperature ?? request.temperature ?? target.temperature,
        ...(options.sampling?.seed !== undefined ? { seed: options.sampling.seed } : request.seed !== undefined ? { seed: request.seed } : {}),
        signal: options.signal,
      });
    },
  };
}
