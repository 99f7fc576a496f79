import type { Command } from "commander";
import { action } from "./action.js";
import { streamChat, type ChatAnswer, type ChatMessage, type ChatParameters } from "./client/chat.js";
import { LmxClient } from "./client/lmx-client.js";
import { runChatSession, type ChatSend } from "./chat-session.js";
import { cliConfig, probeServer, withConnectionOptions, type CliConfig, type ConnectionFlags } from "./connection.js";
import { CliError, interrupted } from "./errors.js";
import { formatElapsed } from "./format.js";
import { onInterrupt } from "./interrupt.js";
import { integerIn, numberIn, parseKeepAliveOption } from "./options.js";

interface RunFlags extends ConnectionFlags {
  system?: string;
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  seed?: number;
  keepAlive?: string | number;
  verbose?: boolean;
}

/**
 * `lmx run MODEL [PROMPT]`: chat in the terminal, or one answer to a prompt (argument or stdin).
 * Talks to the running server over the OpenAI API; with none, starts LMX inside this process on a
 * loopback port, talks to it the same way, and stops it at the end.
 */
export function registerRun(program: Command): void {
  const command = program
    .command("run")
    .description("Chat with a model in the terminal, or answer one prompt")
    .argument("<model>", "model id (see `lmx ls`), alias, or a .gguf path")
    .argument("[prompt...]", "answer this prompt and exit (also read from stdin when it is not a terminal)")
    .option("-s, --system <text>", "system message")
    .option("--temperature <t>", "sampling temperature, 0 to 2", numberIn(0, 2))
    .option("--top-p <p>", "nucleus sampling, 0 to 1", numberIn(0, 1))
    .option("--top-k <k>", "sample from the k most likely tokens", integerIn(0))
    .option("--max-tokens <n>", "longest answer, in tokens", integerIn(1))
    .option("--seed <n>", "sampling seed, for repeatable answers", integerIn(0))
    .option("--keep-alive <duration>", "keep the model loaded this long after the chat (5m, 1h, -1 forever)", parseKeepAliveOption)
    .option("--verbose", "print timings and token counts after each answer");
  withConnectionOptions(command).action(
    action(async (model: string, promptWords: string[], flags: RunFlags) => {
      const config = cliConfig(flags);
      const interactive = promptWords.length === 0 && Boolean(process.stdin.isTTY);
      const prompt = promptWords.length > 0 ? promptWords.join(" ") : interactive ? "" : await readStdin();
      if (!interactive && prompt.trim() === "") throw new CliError("no prompt: give one after the model, or on stdin");

      const probe = await probeServer(config);
      if (probe.kind === "foreign") console.error(`lmx: warning: ${probe.url} is not an LMX server (${probe.reason}); starting LMX in this process`);
      const target = probe.kind === "lmx" ? { client: probe.client, stop: async () => {} } : await startEmbedded(config);
      try {
        if (interactive) await warmUp(target.client, model, flags.keepAlive);
        const parameters: ChatParameters = {
          temperature: flags.temperature,
          top_p: flags.topP,
          top_k: flags.topK,
          max_tokens: flags.maxTokens,
          seed: flags.seed,
          keep_alive: flags.keepAlive,
        };
        const send: ChatSend = (messages, onText, signal) =>
          streamChat(target.client, { model, messages, parameters }, onText, signal);
        const stats = flags.verbose ? printStats : undefined;
        if (interactive) {
          await runChatSession({
            input: process.stdin,
            output: process.stdout,
            terminal: true,
            send,
            system: flags.system,
            afterAnswer: stats,
            onError: (err) => console.error(`lmx: ${err instanceof Error ? err.message : String(err)}`),
          });
        } else {
          await answerOnce(send, prompt, flags.system, stats);
        }
      } finally {
        await target.stop();
      }
    }),
  );
}

/** One prompt, one answer on stdout; Ctrl-C stops it (exit 130 after what arrived). */
async function answerOnce(send: ChatSend, prompt: string, system: string | undefined, stats: ((answer: ChatAnswer) => void) | undefined): Promise<void> {
  const messages: ChatMessage[] = [...(system ? [{ role: "system" as const, content: system }] : []), { role: "user", content: prompt }];
  const interrupt = onInterrupt();
  let endsWithNewline = true;
  try {
    const answer = await send(
      messages,
      (text) => {
        process.stdout.write(text);
        endsWithNewline = text.endsWith("\n");
      },
      interrupt.signal,
    );
    if (!endsWithNewline) process.stdout.write("\n");
    stats?.(answer);
    if (answer.interrupted) throw interrupted();
  } finally {
    interrupt.dispose();
  }
}

/**
 * Loads the model before the first prompt of a chat, so loading shows as loading and an unknown model
 * fails at once rather than at the first message. It is a one-token request through the OpenAI API
 * (as `ollama run` does): the server resolves aliases and presets and applies its own keep-alive,
 * where an admin load would pin the model until unloaded.
 */
async function warmUp(client: LmxClient, model: string, keepAlive: string | number | undefined): Promise<void> {
  if (process.stderr.isTTY) process.stderr.write(`Loading ${model}…\r`);
  try {
    await client.json("POST", "/v1/chat/completions", {
      body: { model, messages: [{ role: "user", content: "" }], max_tokens: 1, keep_alive: keepAlive },
    });
  } finally {
    if (process.stderr.isTTY) process.stderr.write("\x1b[2K");
  }
}

/**
 * LMX in this process, on a free loopback port, loading only the model asked for (just in time, as
 * a server would); its logs kept to errors, on stderr.
 */
async function startEmbedded(config: CliConfig): Promise<{ client: LmxClient; stop(): Promise<void> }> {
  const { createLmx } = await import("../lmx.js");
  const quiet = config.log_level === "trace" || config.log_level === "debug" ? config.log_level : "error";
  const lmx = await createLmx(
    // A chat session is short-lived: it must not pick up Octo tasks waiting in the shared database.
    { ...config, host: "127.0.0.1", port: 0, auto_load: [], jit_loading: true, log_level: quiet, log_file: null, octo: { ...config.octo, run_tasks: false } },
    { logDestination: process.stderr },
  );
  const { url } = await lmx.start();
  return { client: new LmxClient(url, { adminKey: config.admin_key, apiKey: config.api_key }), stop: () => lmx.stop() };
}

function printStats(answer: ChatAnswer): void {
  const completion = answer.usage?.completion_tokens ?? 0;
  const generating = answer.firstTextMs === null ? 0 : answer.totalMs - answer.firstTextMs;
  const lines = [
    `total duration:    ${formatElapsed(answer.totalMs)}`,
    `first token after: ${answer.firstTextMs === null ? "-" : formatElapsed(answer.firstTextMs)}`,
    `prompt tokens:     ${answer.usage?.prompt_tokens ?? "-"}`,
    // An interrupted stream never gets to its usage frame: no token counts then.
    `answer tokens:     ${answer.usage ? completion : "-"}`,
    `generation rate:   ${generating > 0 && completion > 1 ? `${((completion - 1) / (generating / 1000)).toFixed(1)} tokens/s` : "-"}`,
    `finish reason:     ${answer.interrupted ? "interrupted" : (answer.finishReason ?? "-")}`,
  ];
  console.error(lines.join("\n"));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
