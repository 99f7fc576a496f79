import {
  LlamaText,
  type ChatHistoryItem,
  type ChatModelFunctionCall,
  type ChatModelFunctions,
  type ChatWrapper,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import { invalidRequest } from "../../errors.js";
import type { ChatMessage, ToolDefinition } from "../types.js";

/**
 * Chat prompts are rendered by node-llama-cpp's chat wrappers: the GGUF's own Jinja template when it
 * has one (JinjaTemplateChatWrapper), a specialised wrapper for known families, or a generic one as
 * the fallback. The wrapper also defines how this model writes a function call, which tools.ts uses.
 */

export interface RenderedPrompt {
  tokens: Token[];
  /** Token ids that end generation (special tokens among the wrapper's stop triggers). */
  stopTokens: Set<Token>;
  /** Text that ends generation (textual stop triggers). */
  stopStrings: string[];
}

/** OpenAI messages → the wrapper's chat history, with an open model turn at the end to generate into. */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const callsById = new Map<string, ChatModelFunctionCall>();
  messages.forEach((message, index) => {
    const last = history[history.length - 1];
    switch (message.role) {
      case "system":
      case "developer":
        history.push({ type: "system", text: message.content });
        break;
      case "user":
        history.push({ type: "user", text: message.content });
        break;
      case "assistant": {
        // An assistant turn after tool results continues the same model response, as the wrappers expect.
        const item = last?.type === "model" ? last : { type: "model" as const, response: [] };
        if (item !== last) history.push(item);
        if (message.content) item.response.push(message.content);
        for (const call of message.toolCalls ?? []) {
          const functionCall: ChatModelFunctionCall = {
            type: "functionCall",
            name: call.name,
            params: parseArguments(call.arguments),
            result: undefined,
          };
          callsById.set(call.id, functionCall);
          item.response.push(functionCall);
        }
        break;
      }
      case "tool": {
        const call = callsById.get(message.toolCallId);
        if (!call) {
          throw invalidRequest(
            `Invalid 'messages[${index}]': a 'tool' message must answer a tool call of a preceding assistant message; no tool call has id '${message.toolCallId}'.`,
            `messages[${index}].tool_call_id`,
          );
        }
        call.result = parseArguments(message.content);
        break;
      }
    }
  });
  if (history[history.length - 1]?.type !== "model") history.push({ type: "model", response: [] });
  return history;
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function toChatFunctions(tools: readonly ToolDefinition[]): ChatModelFunctions | undefined {
  if (tools.length === 0) return undefined;
  const functions: Record<string, { description?: string; params?: never }> = {};
  for (const tool of tools) {
    functions[tool.name] = {
      description: tool.description,
      params: tool.parameters as never,
    };
  }
  return functions as ChatModelFunctions;
}

export function renderChatPrompt(
  model: LlamaModel,
  wrapper: ChatWrapper,
  messages: readonly ChatMessage[],
  tools: readonly ToolDefinition[],
): RenderedPrompt {
  const state = wrapper.generateContextState({
    chatHistory: toChatHistory(messages),
    availableFunctions: toChatFunctions(tools),
    documentFunctionParams: true,
  });
  const tokens = state.contextText.tokenize(model.tokenizer);
  const stopTokens = new Set<Token>();
  const stopStrings: string[] = [];
  for (const trigger of state.stopGenerationTriggers) {
    const first = trigger.values[0];
    if (typeof first === "object" && first !== null && "type" in first && first.type !== undefined) {
      // A special token (EOS, <|end|>, …): stop on the token itself.
      const triggerTokens = LlamaText(first).tokenize(model.tokenizer);
      if (triggerTokens.length === 1) {
        stopTokens.add(triggerTokens[0]);
        continue;
      }
    }
    const text = trigger.toString();
    if (text.length > 0 && !stopStrings.includes(text)) stopStrings.push(text);
  }
  return { tokens, stopTokens, stopStrings };
}

/** Tokens for a piece of wrapper syntax (plain text or special-token text). */
export function tokenizeWrapperText(model: LlamaModel, value: string | LlamaText): Token[] {
  return LlamaText(value).tokenize(model.tokenizer);
}

export function wrapperText(value: string | LlamaText): string {
  return LlamaText(value).toString();
}
