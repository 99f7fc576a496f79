/**
 * The interactive chat of `lmx run`, like `ollama run`: a prompt, the answer streamed as it comes,
 * the whole conversation sent each turn. `/bye` or Ctrl-D quits; Ctrl-C stops the answer being
 * written (what arrived stays in the history) and, at the prompt, only clears the line.
 * I/O and the model are passed in, so the loop runs the same on a terminal and in a test.
 */
import { createInterface, type Interface } from "node:readline";
import type { ChatAnswer, ChatMessage } from "./client/chat.js";

/** Sends the conversation; calls onText as the answer streams; resolves (interrupted) when the signal aborts. */
export type ChatSend = (messages: readonly ChatMessage[], onText: (text: string) => void, signal: AbortSignal) => Promise<ChatAnswer>;

export interface ChatSessionOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** A terminal: raw keys (Ctrl-C arrives as readline's SIGINT), prompts, line editing, history. */
  terminal: boolean;
  send: ChatSend;
  system?: string;
  /** Interrupts from outside readline (process signals when stdin is not a terminal; tests). Returns the unsubscribe. */
  subscribeInterrupt?: (listener: () => void) => () => void;
  /** Called after each answer (the `--verbose` statistics). */
  afterAnswer?: (answer: ChatAnswer) => void;
  /** Errors of one turn (the server refused it) are shown and the session goes on. */
  onError?: (err: unknown) => void;
}

const HELP = [
  "Available commands:",
  "  /clear   forget the conversation",
  "  /bye     exit (or Ctrl-D)",
  "  /?       this help",
  'Use """ to begin and end a multi-line message.',
].join("\n");

export async function runChatSession(options: ChatSessionOptions): Promise<void> {
  const { output } = options;
  const rl = createInterface({ input: options.input, output: options.terminal ? output : undefined, terminal: options.terminal, historySize: 100 });
  const lines = lineQueue(rl);
  const history: ChatMessage[] = options.system ? [{ role: "system", content: options.system }] : [];
  let answering: AbortController | null = null;

  const interrupt = () => {
    if (answering) {
      answering.abort();
      return;
    }
    if (!options.terminal) return;
    // At the prompt: drop what was typed, remind how to leave (Ctrl-C is not "exit" here).
    rl.write(null, { ctrl: true, name: "u" });
    output.write("\nUse Ctrl-D or /bye to exit.\n");
    rl.prompt();
  };
  rl.on("SIGINT", interrupt);
  const unsubscribe = options.subscribeInterrupt?.(interrupt);
  if (options.terminal) rl.setPrompt(">>> ");

  try {
    for (;;) {
      if (options.terminal) rl.prompt();
      const message = await readMessage(lines, rl, options.terminal);
      if (message === null) {
        if (options.terminal) output.write("\n"); // Ctrl-D leaves the cursor after the prompt
        break;
      }
      const text = message.trim();
      if (text === "") continue;
      if (text.startsWith("/") && !message.includes("\n")) {
        const command = text.split(/\s+/)[0];
        if (command === "/bye" || command === "/exit") break;
        if (command === "/clear") {
          history.splice(options.system ? 1 : 0);
          output.write("Cleared the conversation.\n");
        } else if (command === "/?" || command === "/help") output.write(`${HELP}\n`);
        else output.write(`Unknown command '${command}'. Type /? for help.\n`);
        continue;
      }

      history.push({ role: "user", content: message });
      answering = new AbortController();
      let endsWithNewline = true;
      try {
        const answer = await options.send(
          history,
          (piece) => {
            output.write(piece);
            endsWithNewline = piece.endsWith("\n");
          },
          answering.signal,
        );
        if (!endsWithNewline) output.write("\n");
        if (answer.text) history.push({ role: "assistant", content: answer.text });
        else history.pop(); // nothing came back: the question was not answered, ask again later
        options.afterAnswer?.(answer);
      } catch (err) {
        history.pop();
        if (!endsWithNewline) output.write("\n");
        options.onError?.(err);
      } finally {
        answering = null;
      }
    }
  } finally {
    unsubscribe?.();
    rl.close();
  }
}

/** A message: one line, or the lines between two `"""` (as in `ollama run`). null at end of input. */
async function readMessage(lines: LineQueue, rl: Interface, terminal: boolean): Promise<string | null> {
  const first = await lines.next();
  if (first === null || !first.trimStart().startsWith('"""')) return first;
  const parts = [first.trimStart().slice(3)];
  if (parts[0].trimEnd().endsWith('"""')) return parts[0].trimEnd().slice(0, -3);
  if (terminal) rl.setPrompt("... ");
  try {
    for (;;) {
      if (terminal) rl.prompt();
      const line = await lines.next();
      if (line === null) return parts.join("\n");
      if (line.trimEnd().endsWith('"""')) {
        parts.push(line.trimEnd().slice(0, -3));
        return parts.join("\n").trim();
      }
      parts.push(line);
    }
  } finally {
    if (terminal) rl.setPrompt(">>> ");
  }
}

interface LineQueue {
  /** The next line; lines typed while an answer streams wait here. null once the input has ended. */
  next(): Promise<string | null>;
}

function lineQueue(rl: Interface): LineQueue {
  const pending: string[] = [];
  let waiting: ((line: string | null) => void) | null = null;
  let closed = false;
  rl.on("line", (line) => {
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      resolve(line);
    } else pending.push(line);
  });
  rl.on("close", () => {
    closed = true;
    waiting?.(null);
    waiting = null;
  });
  return {
    next() {
      if (pending.length > 0) return Promise.resolve(pending.shift()!);
      if (closed) return Promise.resolve(null);
      return new Promise((resolve) => (waiting = resolve));
    },
  };
}
