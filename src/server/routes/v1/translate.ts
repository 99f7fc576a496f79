import type { LmxConfig } from "../../../config/schema.js";
import { invalidRequest } from "../../../errors.js";
import type {
  ChatGenerateRequest,
  ChatMessage,
  CompletionGenerateRequest,
  ResponseFormat,
  SamplingParams,
  ToolChoice,
} from "../../../engine/types.js";
import type { Preset } from "../../../models/presets.js";
import type { ChatCompletionBody, ChatMessageBody, CompletionBody } from "./schemas.js";

/** OpenAI request bodies → the engine's typed requests, with the configured sampling defaults. */

type SamplingFields = Pick<
  ChatCompletionBody,
  "temperature" | "top_p" | "top_k" | "min_p" | "repeat_penalty" | "repeat_last_n" | "frequency_penalty" | "presence_penalty" | "seed" | "logit_bias"
>;

/** What the request leaves unset comes from its preset, then from the configured defaults. */
export function toSampling(body: SamplingFields, config: LmxConfig, preset: Preset | null): SamplingParams {
  const defaults = config.sampling;
  const fromPreset = preset?.parameters ?? {};
  const logitBias: Record<number, number> = {};
  for (const [token, bias] of Object.entries(body.logit_bias ?? {})) logitBias[Number(token)] = bias;
  const seed = body.seed ?? fromPreset.seed;
  return {
    temperature: body.temperature ?? fromPreset.temperature ?? defaults.temperature,
    topP: body.top_p ?? fromPreset.top_p ?? defaults.top_p,
    topK: body.top_k ?? fromPreset.top_k ?? defaults.top_k,
    minP: body.min_p ?? fromPreset.min_p ?? defaults.min_p,
    repeatPenalty: body.repeat_penalty ?? fromPreset.repeat_penalty ?? defaults.repeat_penalty,
    repeatLastN: body.repeat_last_n ?? 64,
    frequencyPenalty: body.frequency_penalty ?? fromPreset.frequency_penalty ?? 0,
    presencePenalty: body.presence_penalty ?? fromPreset.presence_penalty ?? 0,
    ...(seed != null ? { seed } : {}),
    ...(Object.keys(logitBias).length > 0 ? { logitBias } : {}),
  };
}

export function toStopList(stop: string | string[] | null | undefined, preset: Preset | null = null): string[] {
  if (stop == null) return preset?.parameters.stop ?? [];
  return (Array.isArray(stop) ? stop : [stop]).filter((s) => s.length > 0);
}

function textContent(content: ChatMessageBody["content"], index: number): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, partIndex) => {
      if (part.type === "text") return part.text;
      if (part.type === "refusal") return part.refusal;
      throw invalidRequest(
        `Invalid content part at 'messages[${index}].content[${partIndex}]': '${part.type}' input is not supported by this server's text models.`,
        `messages[${index}].content[${partIndex}].type`,
        "unsupported_content_type",
      );
    })
    .join("");
}

export function toChatMessages(messages: ChatMessageBody[]): ChatMessage[] {
  return messages.map((message, index): ChatMessage => {
    switch (message.role) {
      case "system":
      case "developer":
      case "user":
        return { role: message.role, content: textContent(message.content, index) };
      case "assistant":
        return {
          role: "assistant",
          content: message.content == null ? null : textContent(message.content, index),
          ...(message.tool_calls?.length
            ? { toolCalls: message.tool_calls.map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments })) }
            : {}),
        };
      case "tool":
        return { role: "tool", content: textContent(message.content, index), toolCallId: message.tool_call_id };
    }
  });
}

function toResponseFormat(format: ChatCompletionBody["response_format"]): ResponseFormat {
  if (!format || format.type === "text") return { type: "text" };
  if (format.type === "json_object") return { type: "json_object" };
  return { type: "json_schema", name: format.json_schema.name, schema: format.json_schema.schema ?? {} };
}

function toToolChoice(choice: ChatCompletionBody["tool_choice"]): ToolChoice {
  if (choice === undefined) return "auto";
  if (typeof choice === "string") return choice;
  return { name: choice.function.name };
}

/** A preset's system prompt opens the conversation unless the request brings its own. */
function withPresetSystemPrompt(messages: ChatMessage[], preset: Preset | null): ChatMessage[] {
  if (!preset?.system_prompt || messages.some((m) => m.role === "system" || m.role === "developer")) return messages;
  return [{ role: "system", content: preset.system_prompt }, ...messages];
}

export function toChatRequest(body: ChatCompletionBody, config: LmxConfig, preset: Preset | null = null): ChatGenerateRequest {
  return {
    kind: "chat",
    messages: withPresetSystemPrompt(toChatMessages(body.messages), preset),
    tools: (body.tools ?? []).map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description ? { description: tool.function.description } : {}),
      ...(tool.function.parameters ? { parameters: tool.function.parameters } : {}),
    })),
    toolChoice: toToolChoice(body.tool_choice),
    parallelToolCalls: body.parallel_tool_calls ?? true,
    responseFormat: toResponseFormat(body.response_format),
    maxTokens: body.max_completion_tokens ?? body.max_tokens ?? preset?.parameters.max_tokens ?? config.sampling.max_tokens,
    stop: toStopList(body.stop, preset),
    n: body.n ?? 1,
    logprobs: body.logprobs ? (body.top_logprobs ?? 0) : null,
    sampling: toSampling(body, config, preset),
  };
}

/** OpenAI's legacy completions default to 16 tokens when max_tokens is not given. */
const completionsDefaultMaxTokens = 16;

export function toCompletionRequests(body: CompletionBody, config: LmxConfig, preset: Preset | null = null): CompletionGenerateRequest[] {
  const prompts: Array<string | number[]> =
    typeof body.prompt === "string"
      ? [body.prompt]
      : body.prompt.length > 0 && typeof body.prompt[0] === "number"
        ? [body.prompt as number[]]
        : (body.prompt as Array<string | number[]>);
  return prompts.map((prompt) => ({
    kind: "completion",
    prompt,
    suffix: body.suffix ?? null,
    echo: body.echo ?? false,
    maxTokens: body.max_tokens ?? preset?.parameters.max_tokens ?? completionsDefaultMaxTokens,
    stop: toStopList(body.stop, preset),
    n: body.n ?? 1,
    logprobs: body.logprobs ?? null,
    sampling: toSampling(body, config, preset),
  }));
}
