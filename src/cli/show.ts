import type { Command } from "commander";
import { action } from "./action.js";
import { modelPath } from "./client/lmx-client.js";
import { cliConfig, findServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { CliError } from "./errors.js";
import { formatBytes, formatCount, toJson } from "./format.js";
import { findModelOnDisk, type ModelDetail } from "./models-on-disk.js";

interface ShowFlags extends ConnectionFlags {
  json?: boolean;
  template?: boolean;
}

/** `lmx show MODEL`: what the GGUF header says. Read by the server when one runs, else from the file here. */
export function registerShow(program: Command): void {
  const command = program
    .command("show")
    .description("Show a model's GGUF metadata")
    .argument("<model>", "model id (see `lmx ls`) or a .gguf path")
    .option("--json", "print everything, all metadata included, as JSON")
    .option("--template", "print only the chat template");
  withConnectionOptions(command).action(
    action(async (id: string, flags: ShowFlags) => {
      const config = cliConfig(flags);
      const server = await findServer(config);
      const model = server ? await server.json<ModelDetail>("GET", `/admin/models/${modelPath(id)}`) : await findModelOnDisk(config.models_dir, id);
      if (!model) throw new CliError(`model '${id}' not found in ${config.models_dir} (see \`lmx ls\`)`);
      if (flags.json) {
        console.log(toJson(model));
        return;
      }
      if (model.error || !model.metadata) throw new CliError(`${model.id}: ${model.error ?? "no metadata"}`);
      if (flags.template) {
        const template = chatTemplate(model.metadata);
        if (template === null) throw new CliError(`${model.id} has no chat template`);
        console.log(template);
        return;
      }
      console.log(describeModel(model));
    }),
  );
}

/** The human view: the model, its tokenizer, then its architecture's hyper-parameters. */
export function describeModel(model: ModelDetail): string {
  const metadata = model.metadata ?? {};
  const arch = model.architecture ?? String(get(metadata, "general.architecture") ?? "unknown");
  const ggml = (get(metadata, "tokenizer.ggml") ?? {}) as Record<string, unknown>;
  const status = model.status ? `loaded (${model.status.state}, ${model.status.parallel} × ${model.status.context_size} tokens)` : model.loaded ? model.state : "not loaded";
  const template = chatTemplate(metadata);
  const sections: Array<[string, Array<[string, string]>]> = [
    [
      "Model",
      [
        ["id", model.id],
        ["name", String(get(metadata, "general.name") ?? "-")],
        ["path", model.files.length > 1 ? `${model.path} (+${model.files.length - 1} shards)` : model.path],
        ["size", formatBytes(model.size_bytes)],
        ["architecture", arch],
        ["parameters", formatCount(model.parameters)],
        ["quantization", model.quantization ?? "-"],
        ["context length", model.context_length ? String(model.context_length) : "-"],
        ["type", model.type ?? "-"],
        ["chat template", template === null ? "no" : `yes (${template.length} characters; \`--template\` prints it)`],
        ["status", status],
      ],
    ],
    [
      "Tokenizer",
      [
        ["model", String(ggml.model ?? "-")],
        ...(ggml.pre !== undefined ? [["pre-tokenizer", String(ggml.pre)] as [string, string]] : []),
        ["vocabulary", vocabularySize(ggml.tokens)],
        ...(["bos_token_id", "eos_token_id", "padding_token_id"] as const)
          .filter((key) => typeof ggml[key] === "number")
          // 0xFFFFFFFF (-1 as a uint32) is how GGUF files say "no such token".
          .map((key): [string, string] => [key.replace(/_id$/, "").replace(/_/g, " "), ggml[key] === 0xffffffff ? "none" : String(ggml[key])]),
      ],
    ],
    [`Hyper-parameters (${arch}.*)`, flatten((metadata[arch] ?? {}) as Record<string, unknown>).map(([key, value]) => [key, formatValue(value)])],
  ];
  return sections
    .filter(([, rows]) => rows.length > 0)
    .map(([title, rows]) => {
      const width = Math.max(...rows.map(([key]) => key.length));
      return [`  ${title}`, ...rows.map(([key, value]) => `    ${key.padEnd(width)}   ${value}`)].join("\n");
    })
    .join("\n\n");
}

function get(metadata: Record<string, unknown>, path: string): unknown {
  let node: unknown = metadata;
  for (const key of path.split(".")) {
    if (!node || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function chatTemplate(metadata: Record<string, unknown>): string | null {
  const template = get(metadata, "tokenizer.chat_template");
  return typeof template === "string" && template.length > 0 ? template : null;
}

/** The reader replaces big arrays by "[N items]"; a short one is still an array. */
function vocabularySize(tokens: unknown): string {
  if (Array.isArray(tokens)) return `${tokens.length} tokens`;
  const match = typeof tokens === "string" ? /^\[(\d+) items\]$/.exec(tokens) : null;
  return match ? `${match[1]} tokens` : "-";
}

function flatten(node: Record<string, unknown>, prefix = ""): Array<[string, unknown]> {
  return Object.entries(node).flatMap(([key, value]): Array<[string, unknown]> =>
    value && typeof value === "object" && !Array.isArray(value) ? flatten(value as Record<string, unknown>, `${prefix}${key}.`) : [[`${prefix}${key}`, value]],
  );
}

function formatValue(value: unknown): string {
  if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toPrecision(6)));
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  return String(value);
}
