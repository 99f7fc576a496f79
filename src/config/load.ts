import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseYaml } from "./yaml.js";
import { z } from "zod";
import { configSchema, type ConfigInput, type LmxConfig } from "./schema.js";

/**
 * Configuration is assembled in this order, each source overriding the one before:
 *   1. the schema's defaults
 *   2. the YAML file (`--config PATH`, else $LMX_CONFIG, else ~/.lmx/config.yaml when it exists)
 *   3. LMX_* environment variables: LMX_PORT=8080, nested keys joined by "__"
 *      (LMX_QUEUE__MAX_SIZE=10, LMX_MODEL_DEFAULTS__THREADS=2); values are YAML scalars or
 *      flow collections (LMX_AUTO_LOAD="[a, b]" or a comma list "a,b")
 *   4. command-line flags
 * The merged result is validated once; an invalid value is refused with its key and the problem.
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface LoadConfigOptions {
  /** Explicit config file (the --config flag). A missing explicit file is an error. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, already in config-key form. */
  flags?: ConfigInput;
  /** Skip the default ~/.lmx/config.yaml (tests). */
  ignoreDefaultFile?: boolean;
}

export function defaultConfigPath(): string {
  return join(homedir(), ".lmx", "config.yaml");
}

export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return path;
}

export function loadConfig(options: LoadConfigOptions = {}): LmxConfig & { config_file: string | null } {
  const env = options.env ?? process.env;
  const explicitPath = options.configPath ?? env.LMX_CONFIG;
  let filePath: string | null = null;
  let fromFile: Record<string, unknown> = {};
  if (explicitPath) {
    filePath = resolve(expandHome(explicitPath));
    if (!existsSync(filePath)) throw new ConfigError(`Config file not found: ${filePath}`);
    fromFile = readYamlFile(filePath);
  } else if (!options.ignoreDefaultFile && existsSync(defaultConfigPath())) {
    filePath = defaultConfigPath();
    fromFile = readYamlFile(filePath);
  }

  const merged = deepMerge(deepMerge(fromFile, configFromEnv(env)), (options.flags ?? {}) as Record<string, unknown>);
  const config = parseConfig(merged, filePath);
  config.models_dir = resolve(expandHome(config.models_dir));
  config.presets_dir = resolve(expandHome(config.presets_dir));
  config.octo.db_path = config.octo.db_path === ":memory:" ? ":memory:" : resolve(expandHome(config.octo.db_path));
  if (config.log_file) config.log_file = resolve(expandHome(config.log_file));
  return { ...config, config_file: filePath };
}

/** Validate a raw config object, naming the offending key in the error. */
export function parseConfig(raw: unknown, source: string | null = null): LmxConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const where = source ? ` (${source})` : "";
  const problems = result.error.issues.map((issue) => `  - ${describeIssue(issue)}`).join("\n");
  throw new ConfigError(`Invalid configuration${where}:\n${problems}`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    const prefix = issue.path.length ? `${issue.path.join(".")}.` : "";
    return issue.keys.map((key) => `${prefix}${key}: unknown key`).join("; ");
  }
  const key = issue.path.length ? issue.path.join(".") : "(root)";
  return `${key}: ${issue.message}`;
}

function readYamlFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (parsed == null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`Config file ${path} must contain a YAML mapping at the top level`);
  }
  return parsed as Record<string, unknown>;
}

const topLevelKeys = new Set(Object.keys(configSchema.shape));

/** LMX_* variables whose first segment names a config key; others (LMX_CONFIG, LMX_TEST_*) are not config. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("LMX_") || value === undefined) continue;
    const path = name.slice(4).toLowerCase().split("__");
    if (!topLevelKeys.has(path[0])) continue;
    let node = out;
    for (const segment of path.slice(0, -1)) {
      node[segment] ??= {};
      node = node[segment] as Record<string, unknown>;
    }
    node[path[path.length - 1]] = parseEnvValue(path, value);
  }
  return out;
}

function parseEnvValue(path: string[], value: string): unknown {
  // Values are YAML so that numbers, booleans and [lists] arrive typed; a plain comma list is
  // accepted for list keys because that is what people type in a shell.
  if (path.length === 1 && path[0] === "auto_load" && !value.trim().startsWith("[")) {
    return value.split(",").map((s) => s.trim()).filter(Boolean);
  }
  try {
    return parseYaml(value);
  } catch {
    return value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? deepMerge(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}
