/**
 * What a caller asks to download: the admin route's body and the CLI's `ORG/REPO[:QUANT_OR_FILE]`
 * both become a DownloadRequest. One schema gives the runtime check and the static type.
 */
import { z } from "zod";
import { invalidRequest } from "../../errors.js";

// Hub repo names: letters, digits, '-', '_', '.'; never a path segment like '..'.
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

const repoId = z.string().refine((v) => {
  const parts = v.split("/");
  return parts.length === 2 && parts.every((p) => NAME.test(p));
}, "must be 'ORG/REPO'");

export const downloadRequestSchema = z
  .object({
    repo_id: repoId,
    /** Branch, tag or commit sha; defaults to "main". */
    revision: z.string().min(1).max(255).regex(/^[^\s]+$/, "must not contain spaces").optional(),
    /** A file path in the repo (or a file name, if it is unique in the repo). */
    file: z.string().min(1).max(1024).optional(),
    /** A quant tag like "Q4_K_M", matched case-insensitively against file names. */
    quant: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be a quant tag like Q4_K_M").optional(),
    /** Glob patterns (fnmatch: '*' also matches '/') over the repo's paths; every match is downloaded. */
    allow_patterns: z.array(z.string().min(1).max(1024)).min(1).max(100).optional(),
  })
  .refine((r) => [r.file, r.quant, r.allow_patterns].filter((v) => v !== undefined).length <= 1, {
    message: "give at most one of file, quant and allow_patterns",
    path: ["file"],
  });

export type DownloadRequest = z.infer<typeof downloadRequestSchema>;

/** Validates untrusted input; throws a 400 LmxError naming the offending field. */
export function parseDownloadRequest(input: unknown): DownloadRequest {
  const result = downloadRequestSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue?.path.join(".") || null;
  throw invalidRequest(`Invalid download request: ${param ? `${param} ` : ""}${issue?.message ?? "invalid"}`, param);
}

/**
 * Parses the CLI's `ORG/REPO[:TAG]`. A tag ending in `.gguf` or containing '/' names a file; any other
 * tag is a quant (as in Ollama's `hf.co/org/repo:Q4_K_M`). Also accepts `hf.co/` and full Hub URLs'
 * `https://huggingface.co/` prefixes, since users paste those.
 */
export function parsePullSpec(spec: string, revision?: string): DownloadRequest {
  const trimmed = spec.trim().replace(/^(https?:\/\/)?(huggingface\.co|hf\.co)\//, "");
  const colon = trimmed.indexOf(":");
  const repo = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const tag = colon === -1 ? "" : trimmed.slice(colon + 1);
  const request: Record<string, unknown> = { repo_id: repo };
  if (revision) request.revision = revision;
  if (tag) {
    if (/\.gguf$/i.test(tag) || tag.includes("/")) request.file = tag;
    else request.quant = tag;
  }
  return parseDownloadRequest(request);
}

/** Two requests with the same key are the same download (the manager dedupes running jobs on it). */
export function requestKey(r: DownloadRequest): string {
  return JSON.stringify([
    r.repo_id.toLowerCase(),
    r.revision ?? "main",
    r.file ?? null,
    r.quant?.toLowerCase() ?? null,
    r.allow_patterns ? [...r.allow_patterns].sort() : null,
  ]);
}
