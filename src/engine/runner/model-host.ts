import {
  DraftSequenceTokenPredictor,
  getLlama,
  InputLookupTokenPredictor,
  LlamaLogLevel,
  resolveChatWrapper,
  type ChatWrapper,
  type Llama,
  type LlamaContext,
  type LlamaEmbeddingContext,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
  type TokenPredictor,
} from "node-llama-cpp";
import { randomInt } from "node:crypto";
import { invalidRequest, LmxError } from "../../errors.js";
import { toGrammarSchema } from "../chat/json-schema.js";
import { renderChatPrompt } from "../chat/prompt.js";
import { namesGrammar, toolCallSyntax, adaptJsonGrammar, type ToolCallSyntax } from "../chat/tools.js";
import type {
  ChatGenerateRequest,
  CompletionGenerateRequest,
  EmbedRequest,
  EmbedResult,
  GenerateEvent,
  GenerateRequest,
  GenerateResult,
  LoadOptions,
  ModelInfo,
  RunnerStats,
  SpeculativeOptions,
} from "../types.js";
import { DecodeBatcher } from "./decode-batcher.js";
import { generateChoice, type ToolPlan } from "./generate.js";
import { SequencePool } from "./sequence-pool.js";
import { enableSyncDecode } from "./sync-decode.js";
import { ThreadTuner } from "./thread-tuner.js";

export type HostLogger = (level: "debug" | "info" | "warn" | "error", message: string) => void;

/** Context size per sequence when neither config nor the load request sets one. */
const defaultContextSize = 4096;
const grammarCacheSize = 64;

interface PreparedPrompt {
  tokens: Token[];
  stopTokens: Set<Token>;
  stopStrings: string[];
  echo: string;
}

/**
 * One loaded model: node-llama-cpp's model and a context with `parallel` sequences. Runs inside a
 * runner child process in the server (see main.ts), and in-process for benchmarks and tools that want
 * the engine without the process hop.
 */
export class ModelHost {
  private generatedTokens = 0;
  private promptTokens = 0;
  private embeddingContext: Promise<LlamaEmbeddingContext> | null = null;
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private readonly toolSyntax: ToolCallSyntax;

  private constructor(
    private readonly options: LoadOptions,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly pool: SequencePool,
    private readonly batcher: DecodeBatcher,
    private readonly tuner: ThreadTuner,
    private readonly chatWrapper: ChatWrapper,
    readonly info: ModelInfo,
    /** Speculative decoding with a draft model: that model and its context (disposed with this one). */
    private readonly draft: { model: LlamaModel; context: LlamaContext } | null,
  ) {
    this.toolSyntax = toolCallSyntax(model, chatWrapper);
  }

  static async load(options: LoadOptions, log: HostLogger = () => {}, signal?: AbortSignal): Promise<ModelHost> {
    const llama = await getLlama({
      gpu: options.gpu === "cpu" ? false : options.gpu,
      // One model per process: the thread budget is the model's own. node-llama-cpp's default
      // (more threads than cores) makes evaluation threads spin against each other.
      maxThreads: options.threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (!text) return;
        log(level === LlamaLogLevel.error || level === LlamaLogLevel.fatal ? "error" : level === LlamaLogLevel.warn ? "warn" : "debug", text);
      },
      build: "never",
      progressLogs: false,
    });
    const model = await llama.loadModel({ modelPath: options.path, gpuLayers: options.gpuLayers, loadSignal: signal });
    try {
      const contextSize = Math.min(options.contextSize ?? Math.min(defaultContextSize, model.trainContextSize), model.trainContextSize);
      const tuner = new ThreadTuner(llama, options.threads, (threads, reason) => log("debug", `evaluation threads: ${threads} (${reason})`));
      const batcher = new DecodeBatcher((width, ms) => tuner.observe(width, ms));
      const context = await model.createContext({
        contextSize,
        sequences: options.parallel,
        threads: options.threads,
        batching: { dispatchSchedule: batcher.schedule },
        ...(options.batchSize ? { batchSize: options.batchSize } : {}),
        ...(options.flashAttention !== null ? { flashAttention: options.flashAttention } : {}),
        createSignal: signal,
      });
      // On the CPU only: untried on GPUs, where a decode waits for the device rather than computes. Not
      // with a draft model either: its context drafts on libuv's worker thread while this one decodes, and
      // with both computing at once their threads would outnumber the cores.
      const syncDecode = llama.gpu === false && options.speculative?.kind !== "draft" && enableSyncDecode(context);
      if (syncDecode) batcher.keepEventLoopTurning(1);
      log("info", `node-llama-cpp ${llama.buildType} binary: ${syncDecode ? "generation steps decode on the runner's thread" : "every decode runs on a libuv worker thread"}`);
      let draft: { model: LlamaModel; context: LlamaContext } | null = null;
      try {
        draft = await loadDraft(llama, model, options, contextSize, signal);
      } catch (err) {
        await context.dispose();
        throw err;
      }
      const sequences = Array.from({ length: options.parallel }, () =>
        context.getSequence({ tokenPredictor: tokenPredictor(options.speculative, draft?.context) }),
      );
      const chatWrapper = resolveChatWrapper(model);
      const template = model.fileInfo.metadata.tokenizer?.chat_template;
      const info: ModelInfo = {
        id: options.id,
        path: options.path,
        architecture: String(model.fileInfo.metadata.general?.architecture ?? "unknown"),
        contextSize: context.contextSize,
        trainContextSize: model.trainContextSize,
        parallel: options.parallel,
        threads: options.threads,
        gpu: llama.gpu,
        gpuLayers: model.gpuLayers,
        sizeBytes: model.size,
        embeddingSize: model.embeddingVectorSize,
        chatTemplate: chatWrapper.wrapperName,
        hasChatTemplate: typeof template === "string" && template.length > 0,
        supportsInfill: model.tokens.infill.prefix !== null && model.tokens.infill.suffix !== null && model.tokens.infill.middle !== null,
        memory: {
          ramBytes: model.memoryUsage.ram + context.memoryUsage.ram,
          vramBytes: model.memoryUsage.vram + context.memoryUsage.vram,
        },
      };
      return new ModelHost(options, llama, model, context, new SequencePool(sequences, options.prefixCache), batcher, tuner, chatWrapper, info, draft);
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  async generate(request: GenerateRequest, emit: (event: GenerateEvent) => void, signal: AbortSignal): Promise<GenerateResult> {
    const started = performance.now();
    const prompt = request.kind === "chat" ? this.prepareChat(request) : this.prepareCompletion(request);
    this.checkContextLength(prompt.tokens.length, request.kind);
    const grammar = request.kind === "chat" ? await this.responseGrammar(request) : undefined;
    const tools = request.kind === "chat" ? this.toolPlan(request) : undefined;
    const stopStrings = [...new Set([...prompt.stopStrings, ...request.stop])];
    const baseSeed = request.sampling.seed ?? randomInt(0, 2 ** 31);

    const lease = await this.pool.acquire(prompt.tokens, signal);
    const predictor = lease.sequence.tokenPredictor;
    // Prompt lookup drafts from this request's prompt.
    if (predictor instanceof InputLookupTokenPredictor) predictor.updateInputTokens(prompt.tokens);
    const predictionsBefore = predictor ? lease.sequence.tokenPredictions : null;
    let completionTokens = 0;
    let firstTokenAt: number | null = null;
    try {
      for (let choice = 0; choice < request.n; choice++) {
        if (prompt.echo) emit({ type: "text", choice, text: prompt.echo });
        // Later choices find the whole prompt cached in this sequence and only generate.
        const input = choice === 0 ? lease.input : await this.rewindTo(lease.sequence, prompt.tokens);
        const result = await generateChoice({
          model: this.model,
          sequence: lease.sequence,
          sequenceIndex: lease.index,
          input,
          prompt: prompt.tokens,
          trimLeadingWhitespace: request.kind === "chat",
          choice,
          maxTokens: request.maxTokens,
          sampling: { ...request.sampling, seed: baseSeed + choice },
          logprobs: request.logprobs,
          stopTokens: prompt.stopTokens,
          stopStrings,
          grammar,
          tools,
          batchSize: this.context.batchSize,
          batcher: this.batcher,
          emit,
          onToken: () => this.generatedTokens++,
          signal,
        });
        firstTokenAt ??= result.firstTokenAt;
        completionTokens += result.completionTokens;
        emit({ type: "finish", choice, reason: result.finishReason, completionTokens: result.completionTokens });
      }
    } finally {
      lease.release();
    }
    this.promptTokens += prompt.tokens.length - lease.cachedTokens;
    const now = performance.now();
    const predictions = predictionsBefore ? lease.sequence.tokenPredictions : null;
    return {
      usage: { promptTokens: prompt.tokens.length, completionTokens, cachedTokens: lease.cachedTokens },
      ...(predictionsBefore && predictions
        ? { draft: { accepted: predictions.validated - predictionsBefore.validated, rejected: predictions.refuted - predictionsBefore.refuted } }
        : {}),
      timings: {
        promptMs: (firstTokenAt ?? now) - started,
        firstTokenMs: firstTokenAt === null ? null : firstTokenAt - started,
        totalMs: now - started,
      },
    };
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<EmbedResult> {
    this.embeddingContext ??= this.model.createEmbeddingContext({
      contextSize: Math.min(this.info.contextSize, this.model.trainContextSize),
      threads: this.options.threads,
    });
    let context: LlamaEmbeddingContext;
    try {
      context = await this.embeddingContext;
    } catch (err) {
      this.embeddingContext = null;
      throw err;
    }
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const [index, input] of request.inputs.entries()) {
      if (signal.aborted) throw signal.reason ?? new Error("aborted");
      const tokens = typeof input === "string" ? this.model.tokenize(input) : (input as Token[]);
      if (tokens.length === 0) throw invalidRequest(`Invalid 'input[${index}]': the input is empty.`, "input");
      if (tokens.length > context.model.trainContextSize || tokens.length > this.info.contextSize) {
        throw new LmxError(
          `Input ${index} has ${tokens.length} tokens; this model's maximum context length is ${this.info.contextSize} tokens.`,
          { status: 400, type: "invalid_request_error", code: "context_length_exceeded", param: "input" },
        );
      }
      promptTokens += tokens.length;
      const embedding = await context.getEmbeddingFor(tokens);
      embeddings.push(normalize(embedding.vector));
    }
    return { embeddings, promptTokens };
  }

  /** Threads decoding now: the configured count, or fewer while the thread tuner finds fewer faster. */
  get threads(): number {
    return this.tuner.threads;
  }

  tokenize(text: string): number[] {
    return this.model.tokenize(text);
  }

  stats(): RunnerStats {
    return {
      busySequences: this.pool.busy,
      totalSequences: this.pool.total,
      generatedTokens: this.generatedTokens,
      promptTokens: this.promptTokens,
      rssBytes: process.memoryUsage().rss,
    };
  }

  async dispose(): Promise<void> {
    if (this.embeddingContext) await (await this.embeddingContext.catch(() => null))?.dispose();
    await this.context.dispose();
    if (this.draft) {
      await this.draft.context.dispose();
      await this.draft.model.dispose();
    }
    await this.model.dispose();
    await this.llama.dispose();
  }

  private prepareChat(request: ChatGenerateRequest): PreparedPrompt {
    const tools = request.toolChoice === "none" ? [] : request.tools;
    const rendered = renderChatPrompt(this.model, this.chatWrapper, request.messages, tools);
    return { ...rendered, echo: "" };
  }

  private prepareCompletion(request: CompletionGenerateRequest): PreparedPrompt {
    const bos = this.model.tokens.bos;
    const withBos = (tokens: Token[]) =>
      bos !== null && this.model.tokens.shouldPrependBosToken && tokens[0] !== bos ? [bos, ...tokens] : tokens;
    let tokens: Token[];
    if (typeof request.prompt !== "string") {
      tokens = request.prompt as Token[];
    } else if (request.suffix !== null) {
      const { prefix, suffix, middle } = this.model.tokens.infill;
      if (prefix === null || suffix === null || middle === null) {
        throw invalidRequest(`The model '${this.options.id}' does not support 'suffix' (it has no fill-in-the-middle tokens).`, "suffix");
      }
      tokens = withBos([prefix, ...this.model.tokenize(request.prompt), suffix, ...this.model.tokenize(request.suffix), middle]);
    } else {
      tokens = withBos(this.model.tokenize(request.prompt));
    }
    if (tokens.length === 0) tokens = withBos([]);
    if (tokens.length === 0) throw invalidRequest("Invalid 'prompt': the prompt is empty.", "prompt");
    const echo = request.echo ? (typeof request.prompt === "string" ? request.prompt : this.model.detokenize(tokens)) : "";
    const stopTokens = new Set<Token>();
    for (const token of [this.model.tokens.eos, this.model.tokens.eot]) if (token !== null) stopTokens.add(token);
    return { tokens, stopTokens, stopStrings: [], echo };
  }

  private checkContextLength(promptTokens: number, kind: GenerateRequest["kind"]): void {
    if (promptTokens < this.info.contextSize) return;
    const what = kind === "chat" ? "messages" : "prompt";
    throw new LmxError(
      `This model's maximum context length is ${this.info.contextSize} tokens. However, your ${what} resulted in ${promptTokens} tokens. Please reduce the length of the ${what}.`,
      { status: 400, type: "invalid_request_error", code: "context_length_exceeded", param: kind === "chat" ? "messages" : "prompt" },
    );
  }

  /** Put a sequence back to exactly the prompt (dropping a previous choice's output). */
  private async rewindTo(sequence: import("node-llama-cpp").LlamaContextSequence, prompt: Token[]): Promise<Token[]> {
    const keep = prompt.length - 1;
    await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
    return prompt.slice(keep);
  }

  private async responseGrammar(request: ChatGenerateRequest): Promise<LlamaGrammar | undefined> {
    const format = request.responseFormat;
    if (format.type === "text") return undefined;
    // Tools take precedence when the model is made to call one.
    if (request.tools.length > 0 && (request.toolChoice === "required" || typeof request.toolChoice === "object")) return undefined;
    const schema = format.type === "json_schema" ? format.schema : { type: "object" };
    const param = format.type === "json_schema" ? "response_format.json_schema.schema" : "response_format";
    return this.jsonGrammar(schema, param);
  }

  private toolPlan(request: ChatGenerateRequest): ToolPlan | undefined {
    if (request.tools.length === 0 || request.toolChoice === "none") return undefined;
    const byName = new Map(request.tools.map((tool) => [tool.name, tool]));
    return {
      syntax: this.toolSyntax,
      names: [...byName.keys()],
      mode: request.toolChoice,
      namesGrammar: (names) => this.cachedGrammar(`names:${JSON.stringify(names)}`, () => namesGrammar(names)),
      argumentsGrammar: (name) => {
        const tool = byName.get(name);
        const schema = tool?.parameters ?? { type: "object" };
        const index = request.tools.findIndex((t) => t.name === name);
        return this.jsonGrammar(schema, `tools[${index}].function.parameters`);
      },
    };
  }

  private jsonGrammar(schema: unknown, param: string): Promise<LlamaGrammar> {
    return this.cachedGrammar(`json:${JSON.stringify(schema)}`, async () => {
      const converted = toGrammarSchema(schema, param);
      let grammar;
      try {
        grammar = await this.llama.createGrammarForJsonSchema(converted as never);
      } catch (err) {
        throw invalidRequest(`Invalid schema for '${param}': ${(err as Error).message}`, param);
      }
      return adaptJsonGrammar(grammar.grammar);
    });
  }

  private cachedGrammar(key: string, source: () => string | Promise<string>): Promise<LlamaGrammar> {
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = Promise.resolve()
        .then(source)
        .then((text) => this.llama.createGrammar({ grammar: text }));
      grammar.catch(() => this.grammars.delete(key));
      if (this.grammars.size >= grammarCacheSize) this.grammars.delete(this.grammars.keys().next().value as string);
      this.grammars.set(key, grammar);
    } else {
      // Refresh its place in the (insertion-ordered) LRU.
      this.grammars.delete(key);
      this.grammars.set(key, grammar);
    }
    return grammar;
  }
}

/**
 * The draft model of speculative decoding, with a context of the same shape as the model's: one
 * draft sequence per sequence. It must share the model's vocabulary, or its drafts mean nothing.
 */
async function loadDraft(
  llama: Llama,
  model: LlamaModel,
  options: LoadOptions,
  contextSize: number,
  signal: AbortSignal | undefined,
): Promise<{ model: LlamaModel; context: LlamaContext } | null> {
  const spec = options.speculative;
  if (spec?.kind !== "draft") return null;
  const draftModel = await llama.loadModel({ modelPath: spec.draftPath, gpuLayers: options.gpuLayers, loadSignal: signal });
  try {
    if (draftModel.tokens.bos !== model.tokens.bos || draftModel.tokens.eos !== model.tokens.eos || draftModel.fileInfo.metadata.tokenizer?.ggml?.tokens?.length !== model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length) {
      throw invalidRequest(
        `The draft model '${spec.draftId}' does not share the vocabulary of '${options.id}'; speculative decoding needs a draft model of the same family.`,
        "speculative.draft_model",
      );
    }
    const context = await draftModel.createContext({
      contextSize: Math.min(contextSize, draftModel.trainContextSize),
      sequences: options.parallel,
      threads: options.threads,
      createSignal: signal,
    });
    return { model: draftModel, context };
  } catch (err) {
    await draftModel.dispose();
    throw err;
  }
}

function tokenPredictor(spec: SpeculativeOptions | null, draftContext: LlamaContext | undefined): TokenPredictor | undefined {
  if (spec?.kind === "prompt_lookup") return new InputLookupTokenPredictor({ predictionLength: { max: spec.maxTokens } });
  if (spec?.kind === "draft" && draftContext) {
    return new DraftSequenceTokenPredictor(draftContext.getSequence(), {
      minTokens: spec.minTokens,
      maxTokens: spec.maxTokens,
      minConfidence: spec.minConfidence,
      // A request's logit_bias is built for the model's vocabulary object, which the draft model's
      // context refuses; the draft drafts without it and the model, which applies it, refutes any
      // draft the bias rules out, so the output is the same.
      evaluateOptions: { tokenBias: undefined },
    });
  }
  return undefined;
}

function normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((value) => value / norm);
}
