/**
 * OctoLlm on the local engine: the router resolves the arm's alias (loading the model just in time),
 * and the LoadedModel generates in-process, through the same scheduler as /v1 requests. A preset's
 * defaults (system prompt, sampling) apply as they would to an API request.
 */
import type { ChatGenerateRequest, ChatMessage, GenerateEvent, SamplingParams, ToolCall } from "../../engine/types.js";
import type { Preset } from "../../models/presets.js";
import type { ModelRouter } from "../../router/router.js";
import type { EmbedResponse, LlmRequest, LlmResponse, OctoLlm } from "../llm.js";

/** Sampling defaults for arm calls; llama.cpp's usual values, with the request's temperature on top. */
const DEFAULT_SAMPLING: SamplingParams = {
  temperature: 0.7,
  topP: 0.95,
  topK: 40,
  minP: 0.05,
  repeatPenalty: 1.0,
  frequencyPenalty: 0,
  presencePenalty: 0,
  repeatLastN: 64,
};

export function createEngineLlm(deps: { router: ModelRouter }): OctoLlm {
  return {
    async chat(request) {
      const started = performance.now();
      const { model, preset } = await deps.router.resolve(request.model, { signal: request.signal });
      const collected = new ResponseCollector();
      const result = await model.generate(toEngineRequest(request, preset), (events) => collected.add(events), {
        signal: request.signal,
        priority: request.priority,
      });
      return collected.build({
        model: model.id,
        usage: { promptTokens: result.usage.promptTokens, completionTokens: result.usage.completionTokens },
        durationMs: performance.now() - started,
      });
    },

    async embed(name, texts, signal): Promise<EmbedResponse> {
      const { model } = await deps.router.resolve(name, { signal });
      const result = await model.embed({ inputs: texts }, signal);
      return { vectors: result.embeddings, model: model.id, promptTokens: result.promptTokens };
    },
  };
}

export function toEngineRequest(request: LlmRequest, preset: Preset | null): ChatGenerateRequest {
  const fromPreset = preset?.parameters ?? {};
  const seed = request.seed ?? fromPreset.seed;
  const messages: ChatMessage[] =
    preset?.system_prompt && !request.messages.some((m) => m.role === "system" || m.role === "developer")
      ? [{ role: "system", content: preset.system_prompt }, ...request.messages]
      : request.messages;
  return {
    kind: "chat",
    messages,
    tools: request.tools ?? [],
    toolChoice: request.toolChoice ?? "auto",
    parallelToolCalls: false,
    responseFormat: request.schema ? { type: "json_schema", name: request.schema.name, schema: request.schema.schema } : { type: "text" },
    maxTokens: request.maxTokens,
    stop: request.stop ?? fromPreset.stop ?? [],
    n: 1,
    logprobs: request.logprobs ? 0 : null,
    sampling: {
      ...DEFAULT_SAMPLING,
      temperature: request.temperature ?? fromPreset.temperature ?? DEFAULT_SAMPLING.temperature,
      topP: fromPreset.top_p ?? DEFAULT_SAMPLING.topP,
      topK: fromPreset.top_k ?? DEFAULT_SAMPLING.topK,
      minP: fromPreset.min_p ?? DEFAULT_SAMPLING.minP,
      repeatPenalty: fromPreset.repeat_penalty ?? DEFAULT_SAMPLING.repeatPenalty,
      ...(seed != null ? { seed } : {}),
    },
  };
}

/** Folds the engine's streamed events into one answer. */
class ResponseCollector {
  private text = "";
  private readonly toolCalls: ToolCall[] = [];
  private finishReason: LlmResponse["finishReason"] = "stop";
  private logprobSum = 0;
  private logprobCount = 0;

  add(events: readonly GenerateEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case "text":
          this.text += event.text;
          for (const token of event.logprobs ?? []) {
            this.logprobSum += token.logprob;
            this.logprobCount++;
          }
          break;
        case "tool_call_start":
          this.toolCalls[event.index] = { id: event.id, name: event.name, arguments: "" };
          break;
        case "tool_call_args":
          this.toolCalls[event.index].arguments += event.text;
          break;
        case "finish":
          this.finishReason = event.reason;
          break;
      }
    }
  }

  build(rest: Pick<LlmResponse, "model" | "usage" | "durationMs">): LlmResponse {
    return {
      text: this.text,
      toolCalls: this.toolCalls.filter(Boolean),
      finishReason: this.finishReason,
      confidence: this.logprobCount > 0 ? Math.exp(this.logprobSum / this.logprobCount) : null,
      ...rest,
    };
  }
}
