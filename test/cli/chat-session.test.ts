/**
 * The interactive loop of `lmx run` driven through a pipe instead of a terminal, against a real
 * server over the OpenAI API: multi-turn history, Ctrl-C stopping an answer without ending the chat,
 * commands, multi-line input, and the end of input.
 */
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamChat, type ChatMessage } from "../../src/cli/client/chat.js";
import { LmxClient } from "../../src/cli/client/lmx-client.js";
import { parseFrame, readSseEvents } from "../../src/cli/client/sse.js";
import { runChatSession } from "../../src/cli/chat-session.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let client: LmxClient;

beforeAll(async () => {
  server = await startTestServer({ models: ["stories260K"] });
  client = new LmxClient(server.url, { adminKey: null, apiKey: null });
});

afterAll(async () => {
  await server?.stop();
});

/** A session on pipes; `type` feeds a line, `output` collects everything written. */
function session(options: { model?: string; maxTokens?: number; system?: string; onSend?: (messages: readonly ChatMessage[]) => void } = {}) {
  const input = new PassThrough();
  const out = new PassThrough();
  let output = "";
  out.on("data", (chunk: Buffer) => (output += chunk.toString()));
  let interruptListener: (() => void) | null = null;
  const sent: ChatMessage[][] = [];
  const errors: unknown[] = [];
  const done = runChatSession({
    input,
    output: out,
    terminal: false,
    system: options.system,
    send: (messages, onText, signal) => {
      sent.push(messages.map((m) => ({ ...m })));
      options.onSend?.(messages);
      return streamChat(client, { model: options.model ?? "stories260K", messages, parameters: { max_tokens: options.maxTokens ?? 12, seed: 1 } }, onText, signal);
    },
    subscribeInterrupt: (listener) => {
      interruptListener = listener;
      return () => (interruptListener = null);
    },
    onError: (err) => errors.push(err),
  });
  return {
    type: (line: string) => input.write(`${line}\n`),
    end: () => input.end(),
    interrupt: () => interruptListener?.(),
    output: () => output,
    sent,
    errors,
    done,
  };
}

describe("lmx run, interactive", () => {
  it("keeps the conversation across turns and ends at /bye", async () => {
    const chat = session({ system: "You tell stories." });
    chat.type("Once upon a time");
    chat.type("And then?");
    chat.type("/bye");
    chat.type("never sent");
    await chat.done;
    expect(chat.sent).toHaveLength(2);
    expect(chat.sent[0].map((m) => m.role)).toEqual(["system", "user"]);
    expect(chat.sent[1].map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(chat.sent[1][2].content.length).toBeGreaterThan(0);
    // The answers were written as they came: the first answer's text is in the output.
    expect(chat.output()).toContain(chat.sent[1][2].content);
    expect(chat.errors).toEqual([]);
  });

  it("Ctrl-C stops the answer being written, keeps what came, and the chat goes on", async () => {
    const chat = session({
      maxTokens: 1000,
      onSend: () => {
        // Interrupt each answer as soon as some new text of it is on the screen.
        const before = chat.output().length;
        const poll = setInterval(() => {
          if (chat.output().length > before) {
            clearInterval(poll);
            chat.interrupt();
          }
        }, 1);
      },
    });
    chat.type("Once upon a time");
    chat.type("Tell me more");
    chat.end(); // Ctrl-D
    await chat.done;
    expect(chat.sent).toHaveLength(2);
    const partial = chat.sent[1][1];
    expect(partial.role).toBe("assistant");
    expect(partial.content.length).toBeGreaterThan(0);
    // Far fewer than the 1000 tokens asked for: it was cut off (stories260K writes ~4 characters a token).
    expect(partial.content.length).toBeLessThan(1500);
    expect(chat.errors).toEqual([]);
  });

  it("handles /clear, /?, unknown commands, multi-line messages and a refused turn", async () => {
    const chat = session();
    chat.type("/?");
    chat.type("/nope");
    chat.type('"""');
    chat.type("line one");
    chat.type('line two"""');
    chat.type("/clear");
    chat.type("fresh start");
    chat.end();
    await chat.done;
    const output = chat.output();
    expect(output).toContain("/bye     exit (or Ctrl-D)");
    expect(output).toContain("Unknown command '/nope'. Type /? for help.");
    expect(output).toContain("Cleared the conversation.");
    expect(chat.sent[0]).toEqual([{ role: "user", content: "line one\nline two" }]);
    expect(chat.sent[1]).toEqual([{ role: "user", content: "fresh start" }]);
  });

  it("reports a turn the server refuses and does not keep it in the history", async () => {
    const chat = session({ model: "no-such-model" });
    chat.type("hello");
    chat.end();
    await chat.done;
    expect(chat.errors).toHaveLength(1);
    expect((chat.errors[0] as Error).message).toBe("The model 'no-such-model' does not exist or is not available.");
  });
});

describe("SSE reader", () => {
  it("parses frames, multi-line data, ids, events and comments, across chunk boundaries", async () => {
    expect(parseFrame(": heartbeat")).toBeNull();
    expect(parseFrame("event: download_progress\nid: 7\ndata: {\"a\":1}")).toEqual({ event: "download_progress", id: "7", data: '{"a":1}' });
    expect(parseFrame("data: one\ndata: two")).toEqual({ event: "message", id: null, data: "one\ntwo" });
    const text = ": hi\n\ndata: {\"x\":1}\r\ndata: {\"y\":2}\r\n\r\nevent: done\ndata: [DONE]\n\ndata: tail";
    const bytes = new TextEncoder().encode(text);
    // One byte at a time: frames and even \r\n pairs split across reads.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const events = [];
    for await (const event of readSseEvents(body)) events.push(event);
    expect(events).toEqual([
      { event: "message", id: null, data: '{"x":1}\n{"y":2}' },
      { event: "done", id: null, data: "[DONE]" },
      { event: "message", id: null, data: "tail" },
    ]);
  });
});
