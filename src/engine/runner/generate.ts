import {
  LlamaGrammarEvaluationState,
  TokenBias,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type SequenceEvaluateOptions,
  type Token,
} from "node-llama-cpp";
import { forcedCallTokens, newToolCallId, paramsPrefixTokens, type ToolCallSyntax } from "../chat/tools.js";
import type { FinishReason, GenerateEvent, SamplingParams, TokenLogprob } from "../types.js";
import type { DecodeBatcher } from "./decode-batcher.js";
import { seededRandom } from "../../seeded-random.js";
import { sampleFromDistribution, tokenLogprob } from "./logprobs.js";
import { IncrementalDetokenizer, StopStringMatcher } from "./text-stream.js";

/** What one choice needs; built by the model host for each request. */
export interface ChoiceOptions {
  model: LlamaModel;
  sequence: LlamaContextSequence;
  /** The sequence's id in its context (its place in decode batches). */
  sequenceIndex: number;
  /** Tokens to evaluate before generating (the part of the prompt not already in the sequence). */
  input: Token[];
  /** The whole prompt: context for detokenizing the first generated tokens. */
  prompt: readonly Token[];
  /** Chat replies start at their first visible character, as chat templates intend. */
  trimLeadingWhitespace: boolean;
  choice: number;
  maxTokens: number | null;
  sampling: SamplingParams;
  logprobs: number | null;
  stopTokens: ReadonlySet<Token>;
  stopStrings: readonly string[];
  /** Constrains the whole output (response_format). */
  grammar?: LlamaGrammar;
  tools?: ToolPlan;
  /** Prompt chunks larger than this are evaluated piecewise, checking for abort in between. */
  batchSize: number;
  /** Gathers the decode steps of the context's generating sequences into shared batches. */
  batcher?: DecodeBatcher;
  emit(event: GenerateEvent): void;
  /** Called for every generated token (live counters). */
  onToken?(): void;
  signal: AbortSignal;
}

export interface ToolPlan {
  syntax: ToolCallSyntax;
  names: string[];
  /** `auto`: generate freely and switch to a call if the model writes the call prefix. */
  mode: "auto" | "required" | { name: string };
  namesGrammar(names: readonly string[]): Promise<LlamaGrammar>;
  argumentsGrammar(name: string): Promise<LlamaGrammar>;
}

export interface ChoiceResult {
  finishReason: FinishReason;
  completionTokens: number;
  firstTokenAt: number | null;
}

type LoopEnd = { kind: "eog" } | { kind: "halt"; pending: Token | null } | { kind: "length" };
type TokenDecision = "continue" | "halt" | "halt-keep";

class AbortedError extends Error {
  constructor() {
    super("The operation was aborted");
    this.name = "AbortError";
  }
}

/**
 * Generates one choice into a sequence whose cached state already matches everything before `input`.
 * Text is streamed through the stop-string matcher; tool calls switch to grammar-constrained phases.
 */
export async function generateChoice(options: ChoiceOptions): Promise<ChoiceResult> {
  return new ChoiceRun(options).run();
}

class ChoiceRun {
  private generated = 0;
  private readonly recent: Token[] = [];
  private firstTokenAt: number | null = null;
  private readonly random: () => number;

  constructor(private readonly o: ChoiceOptions) {
    this.random = seededRandom((o.sampling.seed ?? 0) + 0x9e3779b9);
  }

  async run(): Promise<ChoiceResult> {
    const { tools } = this.o;
    let finishReason: FinishReason;
    if (tools && tools.mode !== "auto") {
      const name = typeof tools.mode === "object" ? tools.mode.name : null;
      const forced = forcedCallTokens(this.o.model, tools.syntax, name);
      finishReason = await this.toolCall(tools, this.o.input.concat(forced), name, 0);
    } else {
      finishReason = await this.text(this.o.input);
    }
    return { finishReason, completionTokens: this.generated, firstTokenAt: this.firstTokenAt };
  }

  /** Free text (optionally grammar-constrained), watching for stop strings and, with auto tools, a call. */
  private async text(input: Token[]): Promise<FinishReason> {
    const { model, choice, tools, emit } = this.o;
    const detokenizer = new IncrementalDetokenizer(model, this.o.prompt);
    let leading = this.o.trimLeadingWhitespace;
    const callPrefixes = tools?.mode === "auto" ? tools.syntax.prefixTexts : [];
    const matcher = new StopStringMatcher([...this.o.stopStrings, ...callPrefixes]);
    let toolCallFrom: { pending: Token | null; nameStart: string } | null = null;
    let pendingLogprobs: TokenLogprob[] = [];
    let stopped = false;

    const end = await this.loop(input, this.o.grammar, (token, logprob) => {
      if (this.o.stopTokens.has(token)) return "halt";
      if (logprob) pendingLogprobs.push(logprob);
      let text = detokenizer.push(token);
      if (leading && text) {
        text = text.trimStart();
        leading = text.length === 0;
      }
      const match = matcher.push(text);
      if (match.emit) {
        emit({ type: "text", choice, text: match.emit, ...(logprob ? { logprobs: pendingLogprobs } : {}) });
        pendingLogprobs = [];
      }
      if (match.matched === null) return "continue";
      if (callPrefixes.includes(match.matched)) {
        toolCallFrom = { pending: null, nameStart: match.after.trimStart() };
        return "halt-keep";
      }
      stopped = true;
      return "halt";
    });

    if (toolCallFrom !== null && end.kind === "halt" && tools) {
      const from = toolCallFrom as { pending: Token | null; nameStart: string };
      return this.toolCall(tools, end.pending === null ? [] : [end.pending], null, 0, from.nameStart);
    }
    if (!stopped) {
      const rest = matcher.push(detokenizer.flush()).emit + matcher.flush();
      if (rest || pendingLogprobs.length > 0) {
        emit({ type: "text", choice, text: rest, ...(pendingLogprobs.length > 0 ? { logprobs: pendingLogprobs } : {}) });
      }
    }
    return end.kind === "length" ? "length" : "stop";
  }

  /**
   * A tool call after its prefix is in `input`: the name (grammar over the tool names, unless forced),
   * the params prefix, then the arguments (grammar from the tool's schema).
   */
  private async toolCall(
    tools: ToolPlan,
    input: Token[],
    forcedName: string | null,
    index: number,
    nameStart = "",
  ): Promise<FinishReason> {
    const { model, choice, emit } = this.o;
    let name = forcedName;
    if (name === null) {
      const candidates = tools.names.filter((n) => n.startsWith(nameStart)).map((n) => n.slice(nameStart.length));
      if (candidates.length === 0) return "stop";
      let written = "";
      const end = await this.loop(input, await tools.namesGrammar(candidates), (token) => {
        written += model.detokenize([token]);
        return "continue";
      });
      if (end.kind === "length") return "length";
      name = nameStart + written.trim();
      input = paramsPrefixTokens(model, tools.syntax);
    }
    emit({ type: "tool_call_start", choice, index, id: newToolCallId(), name });

    const detokenizer = new IncrementalDetokenizer(model);
    const end = await this.loop(input, await tools.argumentsGrammar(name), (token) => {
      const text = detokenizer.push(token);
      if (text) emit({ type: "tool_call_args", choice, index, text });
      return "continue";
    });
    const rest = detokenizer.flush();
    if (rest) emit({ type: "tool_call_args", choice, index, text: rest });
    return end.kind === "length" ? "length" : "tool_calls";
  }

  /**
   * The token loop. `onToken` sees each sampled token before it is evaluated; "halt" ends the loop
   * dropping the token, "halt-keep" ends it and hands the token back (pending) for the next phase.
   * While it runs, the batcher counts this sequence among those whose steps share decode batches.
   */
  private async loop(
    input: Token[],
    grammar: LlamaGrammar | undefined,
    onToken: (token: Token, logprob: TokenLogprob | undefined) => TokenDecision,
  ): Promise<LoopEnd> {
    if (this.o.signal.aborted) throw new AbortedError();
    const leave = this.o.batcher?.enter();
    try {
      return await this.tokens(input, grammar, onToken);
    } finally {
      leave?.();
    }
  }

  private async tokens(
    input: Token[],
    grammar: LlamaGrammar | undefined,
    onToken: (token: Token, logprob: TokenLogprob | undefined) => TokenDecision,
  ): Promise<LoopEnd> {
    const { sequence, signal, sampling, model } = this.o;
    input = await this.prefill(input);

    const wantLogprobs = this.o.logprobs !== null && grammar === undefined;
    const drawInJs = wantLogprobs && sampling.temperature > 0;
    const evaluateOptions = this.evaluateOptions(grammar, wantLogprobs);
    const iterator = wantLogprobs
      ? sequence.evaluateWithMetadata(input, { probabilities: true }, evaluateOptions)
      : sequence.evaluate(input, evaluateOptions);
    const contextSize = sequence.contextSize;

    try {
      type Step = Awaited<ReturnType<typeof iterator.next>>;
      let step = await this.step<Step>(true, () => iterator.next());
      while (!step.done) {
        if (signal.aborted) throw new AbortedError();
        this.firstTokenAt ??= performance.now();
        let token: Token;
        let logprob: TokenLogprob | undefined;
        let replaced = false;
        if (wantLogprobs) {
          const value = step.value as { token: Token; probabilities: Map<Token, number> };
          token = value.token;
          if (drawInJs) {
            const drawn = sampleFromDistribution(value.probabilities, sampling, this.random);
            if (drawn !== undefined && drawn !== token) {
              token = drawn;
              replaced = true;
            }
          }
          logprob = tokenLogprob(model, token, value.probabilities, this.o.logprobs ?? 0);
        } else {
          token = step.value as Token;
        }
        if (model.isEogToken(token)) return { kind: "eog" };

        const decision = onToken(token, logprob);
        if (decision !== "continue") return { kind: "halt", pending: decision === "halt-keep" ? token : null };
        this.generated++;
        this.o.onToken?.();
        this.recent.push(token);
        if (this.recent.length > sampling.repeatLastN) this.recent.shift();
        if (this.o.maxTokens !== null && this.generated >= this.o.maxTokens) return { kind: "length" };
        if (sequence.nextTokenIndex + 1 >= contextSize) return { kind: "length" };
        step = await this.step<Step>(false, () => iterator.next(replaced ? token : undefined));
      }
      return { kind: "eog" };
    } finally {
      await iterator.return();
    }
  }

  /** One decode step (`prompt`: one carrying prompt tokens), batched with the other sequences' steps. */
  private step<T>(prompt: boolean, decode: () => Promise<T>): Promise<T> {
    return this.o.batcher ? this.o.batcher.step(this.o.sequenceIndex, prompt, decode) : decode();
  }

  /** Evaluate all but the last batch of a long input in pieces, so an abort is noticed between them. */
  private async prefill(input: Token[]): Promise<Token[]> {
    const { sequence, batchSize, signal } = this.o;
    while (input.length > batchSize) {
      if (signal.aborted) throw new AbortedError();
      await this.step(true, () => sequence.evaluateWithoutGeneratingNewTokens(input.slice(0, batchSize)));
      input = input.slice(batchSize);
    }
    return input;
  }

  private evaluateOptions(grammar: LlamaGrammar | undefined, greedyForLogprobs: boolean): SequenceEvaluateOptions {
    const { sampling, model } = this.o;
    const options: SequenceEvaluateOptions = {
      temperature: greedyForLogprobs ? 0 : sampling.temperature,
      topK: sampling.topK,
      topP: sampling.topP,
      minP: sampling.minP,
      seed: sampling.seed,
      // EOG tokens come back to the loop, which ends on them; a token drawn here may replace the engine's.
      yieldEogToken: true,
    };
    if (grammar) options.grammarEvaluationState = new LlamaGrammarEvaluationState({ model, grammar });
    if (sampling.repeatPenalty !== 1 || sampling.frequencyPenalty !== 0 || sampling.presencePenalty !== 0) {
      options.repeatPenalty = {
        punishTokens: () => this.recent,
        maxPunishTokens: sampling.repeatLastN,
        penalty: sampling.repeatPenalty,
        frequencyPenalty: sampling.frequencyPenalty,
        presencePenalty: sampling.presencePenalty,
      };
    }
    if (sampling.logitBias && Object.keys(sampling.logitBias).length > 0) {
      const bias = new TokenBias(model.tokenizer);
      for (const [token, value] of Object.entries(sampling.logitBias)) {
        bias.set(Number(token) as Token, value <= -100 ? "never" : { logit: value });
      }
      options.tokenBias = bias;
    }
    return options;
  }
}
