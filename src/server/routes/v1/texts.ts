import type { ChatCompletionBody, CompletionBody } from "./schemas.js";

/** A text a request carries, readable and replaceable in place (for redaction before the model sees it). */
export interface TextSlot {
  get(): string;
  set(value: string): void;
}

/** Every text of a chat request: each message's string content and text parts. */
export function chatTexts(body: ChatCompletionBody): TextSlot[] {
  const slots: TextSlot[] = [];
  for (const message of body.messages) {
    const content = message.content;
    if (typeof content === "string") {
      slots.push({ get: () => message.content as string, set: (value) => (message.content = value) });
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === "text") slots.push({ get: () => part.text, set: (value) => (part.text = value) });
      }
    }
  }
  return slots;
}

/** The prompts of a completion request (token-id prompts have no text to screen). */
export function completionTexts(body: CompletionBody): TextSlot[] {
  const prompt = body.prompt;
  if (typeof prompt === "string") return [{ get: () => body.prompt as string, set: (value) => (body.prompt = value) }];
  const slots: TextSlot[] = [];
  (prompt as unknown[]).forEach((item, index) => {
    if (typeof item === "string") {
      slots.push({ get: () => (body.prompt as string[])[index], set: (value) => ((body.prompt as string[])[index] = value) });
    }
  });
  if (typeof body.suffix === "string") slots.push({ get: () => body.suffix as string, set: (value) => (body.suffix = value) });
  return slots;
}
