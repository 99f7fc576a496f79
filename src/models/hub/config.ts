/**
 * Settings of the Hub downloader. The caller passes what it knows (from LMX's config); the process
 * environment (HF_ENDPOINT, HF_TOKEN) fills the gaps, read once here and never anywhere else.
 */
import { statfs as nodeStatfs } from "node:fs/promises";
import path from "node:path";
import { invalidRequest } from "../../errors.js";

export interface StatfsResult {
  /** Free blocks available to unprivileged users. */
  bavail: number | bigint;
  /** Block size in bytes. */
  bsize: number | bigint;
}

/** `fs.promises.statfs`, injectable so tests can pretend the disk is full. */
export type StatfsFn = (path: string) => Promise<StatfsResult>;

export interface HubConfig {
  /** Models land in `<modelsDir>/<org>/<repo>/<path in repo>`. */
  modelsDir: string;
  /** Hub base URL, for mirrors. Default: env HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Bearer token for gated and private repos. Default: env HF_TOKEN (or HUGGING_FACE_HUB_TOKEN). */
  token?: string;
  /** Where the defaults above are read from. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  statfs?: StatfsFn;
  /** Attempts after the first on network errors, each resuming from the `.part` file. Default 3. */
  maxRetries?: number;
  /** First retry delay; doubles each attempt. Default 1000 ms. */
  retryDelayMs?: number;
  /** A connection that delivers no byte for this long is treated as lost. Default 60 s. */
  stallTimeoutMs?: number;
  /** Space to leave free on the disk beyond what the download needs. Default 0. */
  diskReserveBytes?: number;
  /** How often free space is re-checked while writing. Default 1000 ms. */
  diskCheckIntervalMs?: number;
}

export interface ResolvedHubConfig {
  modelsDir: string;
  endpoint: string;
  token: string | undefined;
  fetch: typeof fetch;
  statfs: StatfsFn;
  maxRetries: number;
  retryDelayMs: number;
  stallTimeoutMs: number;
  diskReserveBytes: number;
  diskCheckIntervalMs: number;
}

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

export function resolveHubConfig(config: HubConfig): ResolvedHubConfig {
  const env = config.env ?? process.env;
  const endpoint = (config.endpoint || env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT).replace(/\/+$/, "");
  try {
    new URL(endpoint);
  } catch {
    throw invalidRequest(`Invalid Hub endpoint '${endpoint}' (HF_ENDPOINT): not a URL.`, "endpoint");
  }
  return {
    modelsDir: path.resolve(config.modelsDir),
    endpoint,
    token: config.token || env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    // Bound late so a test's or a proxy's replacement of globalThis.fetch is honoured.
    fetch: config.fetch ?? ((input, init) => fetch(input, init)),
    statfs: config.statfs ?? ((p) => nodeStatfs(p)),
    maxRetries: config.maxRetries ?? 3,
    retryDelayMs: config.retryDelayMs ?? 1000,
    stallTimeoutMs: config.stallTimeoutMs ?? 60_000,
    diskReserveBytes: config.diskReserveBytes ?? 0,
    diskCheckIntervalMs: config.diskCheckIntervalMs ?? 1000,
  };
}
