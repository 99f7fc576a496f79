/**
 * The engine's typed request and event vocabulary. Routes translate their wire formats into these
 * (and back); the runner child process and the in-process engine both speak them. Plain data only:
 * everything here crosses the IPC boundary.
 */

export type JsonSchema = Record<string, unknown>;

export interface SamplingParams {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repeatPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
  /** Recent tokens the penalties look at. */
  repeatLastN: number;
  seed?: number;
  /** token id → bias added to its logit (OpenAI's logit_bias: -100 bans, 100 forces). */
  logitBias?: Record<number, number>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, exactly as OpenAI carries it. */
  arguments: string;
}

export type ChatMessage =
  | { role: "system" | "developer"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content: string | null; toolCalls?: ToolCall[] }
  | { role: "tool"; content: string; toolCallId: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: JsonSchema;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; name: string; schema: JsonSchema };

interface GenerateCommon {
  /** Generated tokens per choice; null = until the end of generation or the context is full. */
  maxTokens: number | null;
  stop: string[];
  /** Choices to generate for the prompt. */
  n: number;
  /** Alternatives to report per token, or null for no logprobs at all (0 = only the chosen token). */
  logprobs: number | null;
  sampling: SamplingParams;
}

export interface ChatGenerateRequest extends GenerateCommon {
  kind: "chat";
  messages: ChatMessage[];
  tools: ToolDefinition[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
  responseFormat: ResponseFormat;
}

export interface CompletionGenerateRequest extends GenerateCommon {
  kind: "completion";
  prompt: string | number[];
  suffix: string | null;
  echo: boolean;
}

export type GenerateRequest = ChatGenerateRequest | CompletionGenerateRequest;

export type FinishReason = "stop" | "length" | "tool_calls";

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

/** What a generation reports as it runs, in order. Choices run one after another. */
export type GenerateEvent =
  | { type: "text"; choice: number; text: string; logprobs?: TokenLogprob[] }
  | { type: "tool_call_start"; choice: number; index: number; id: string; name: string }
  | { type: "tool_call_args"; choice: number; index: number; text: string }
  | { type: "finish"; choice: number; reason: FinishReason; completionTokens: number };

export interface GenerateResult {
  usage: Usage;
  /** Speculative decoding, when the model uses it: draft tokens accepted and rejected. */
  draft?: { accepted: number; rejected: number };
  /** Timings measured in the engine, for logs and metrics. */
  timings: { promptMs: number; firstTokenMs: number | null; totalMs: number };
}

export interface EmbedRequest {
  inputs: Array<string | number[]>;
}

export interface EmbedResult {
  embeddings: number[][];
  promptTokens: number;
}

export interface ModelInfo {
  id: string;
  path: string;
  architecture: string;
  /** Context size of each sequence. */
  contextSize: number;
  trainContextSize: number;
  parallel: number;
  threads: number;
  gpu: string | false;
  gpuLayers: number;
  sizeBytes: number;
  embeddingSize: number;
  chatTemplate: string;
  hasChatTemplate: boolean;
  supportsInfill: boolean;
  memory: { ramBytes: number; vramBytes: number };
}

export interface RunnerStats {
  busySequences: number;
  totalSequences: number;
  generatedTokens: number;
  promptTokens: number;
  rssBytes: number;
}

/** How a model decodes speculatively (resolved from the `speculative` setting). */
export type SpeculativeOptions =
  | { kind: "draft"; draftId: string; draftPath: string; minTokens: number; maxTokens: number; minConfidence: number }
  | { kind: "prompt_lookup"; maxTokens: number };

/** The loaded-model settings a runner needs (resolved from config, presets and the load request). */
export interface LoadOptions {
  id: string;
  path: string;
  parallel: number;
  contextSize: number | null;
  threads: number;
  gpu: "auto" | "metal" | "cuda" | "vulkan" | "cpu";
  gpuLayers: "auto" | "max" | number;
  batchSize: number | null;
  flashAttention: boolean | null;
  /** Reuse cached prompt prefixes across requests. */
  prefixCache: boolean;
  /** Speculative decoding, or null for plain decoding. */
  speculative: SpeculativeOptions | null;
  /**
   * Streamed events are sent from the runner at most this often (ms); 0 sends every token at once;
   * "auto" lets the runner choose from where the model decodes (runner/stream-interval.ts).
   */
  streamIntervalMs: number | "auto";
}

/** An error in plain data, so it survives IPC and keeps its HTTP meaning. */
export interface EngineErrorData {
  message: string;
  status: number;
  type: string;
  code: string | null;
  param: string | null;
}
