import { LlamaText, type ChatWrapper, type LlamaModel, type Token } from "node-llama-cpp";
import { randomBytes } from "node:crypto";
import { wrapperText } from "./prompt.js";

/**
 * How the loaded model writes a tool call, taken from its chat wrapper: `prefix` name `paramsPrefix`
 * JSON-arguments `suffix` (for example `||call: get_weather({"city": "Paris"})`, or Qwen's
 * `<tool_call>{"name": "get_weather", "arguments": {...}}</tool_call>`).
 *
 * Forced calls (tool_choice `required` or a named function) write the prefix (and the name) into the
 * model's turn and then generate under grammars: one that allows only the tools' names, then one built
 * from the chosen tool's parameter schema — so a forced call is always well formed. With `auto` the
 * model writes freely until it produces the prefix itself, and the same grammars take over from there.
 */
export interface ToolCallSyntax {
  /** Every spelling of the call prefix the model may produce. */
  prefixTexts: string[];
  prefix: LlamaText;
  paramsPrefix: LlamaText;
}

export function toolCallSyntax(model: LlamaModel, wrapper: ChatWrapper): ToolCallSyntax {
  const call = wrapper.settings.functions.call;
  const prefix = wrapperText(call.prefix);
  const alternates = (call.prefixAlternateMatches ?? []).map((value) => wrapperText(value));
  const prefixTexts = [...new Set([prefix, ...alternates].map((text) => text.trim()).filter(Boolean))];
  return { prefixTexts, prefix: LlamaText(call.prefix), paramsPrefix: LlamaText(call.paramsPrefix) };
}

/**
 * Tokens the model's turn gets before a forced call: the prefix, and for a named call also the name
 * and the params prefix. Tokenized as one text so the pieces join as the model would write them.
 */
export function forcedCallTokens(model: LlamaModel, syntax: ToolCallSyntax, name: string | null): Token[] {
  const text = name === null ? syntax.prefix : LlamaText([syntax.prefix, name, syntax.paramsPrefix]);
  return text.tokenize(model.tokenizer);
}

export function paramsPrefixTokens(model: LlamaModel, syntax: ToolCallSyntax): Token[] {
  return syntax.paramsPrefix.tokenize(model.tokenizer);
}

/** A GBNF grammar whose only sentences are the given names (tool names, or their remainders). */
export function namesGrammar(names: readonly string[]): string {
  const alternatives = names.map((name) => JSON.stringify(name)).join(" | ");
  return `root ::= ${alternatives}`;
}

/**
 * Two adjustments to node-llama-cpp's JSON-schema grammars:
 * - they end with a run of newlines that its own chat loop uses as a stop trigger; we end
 *   grammar-constrained output at the grammar's end instead (the sampler then only allows
 *   end-of-generation), so that rule is removed;
 * - their integers accept an exponent ("1e-5"), which is not an integer to a JSON Schema validator.
 */
export function adaptJsonGrammar(grammar: string): string {
  return grammar
    .replace(/^(root ::= .*?) "\\n\\n\\n\\n" \[\\n\]\*$/m, "$1")
    .replace(/^(integer-number-rule ::= .*?) \(\[eE\] \[-\+\]\? \("0" \| \[1-9\] \[0-9\]\{0,15\}\)\)\?$/m, "$1");
}

export function newToolCallId(): string {
  return `call_${randomBytes(12).toString("base64url")}`;
}
