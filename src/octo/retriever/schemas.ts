/**
 * The retriever's request payloads, one zod schema each: the runtime check and the static type at once.
 * The HTTP routes can validate with these at the edge; the service parses again, because the
 * orchestrator's arms call it without going through HTTP.
 */
import { z } from "zod";
import { invalidRequest } from "../../errors.js";
import { MIN_CHUNK_CHARS } from "./chunking.js";

/** URL-safe, so a route can take it as a path segment. */
export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Collection ids look like this; names may not, so a reference by id or name is never ambiguous. */
export const COLLECTION_ID = /^col_[0-9a-f]{16}$/;

export const DEFAULT_CHUNKING = { max_chars: 1000, overlap_chars: 150 } as const;
export const MAX_DOCUMENT_CHARS = 5_000_000;
export const MAX_DOCUMENTS_PER_INGEST = 1000;
export const MAX_METADATA_BYTES = 64 * 1024;
export const MAX_QUERY_CHARS = 8192;
export const MAX_TOP_K = 100;

const notBlank = (value: string) => value.trim().length > 0;

export const chunkingSchema = z
  .object({
    max_chars: z.number().int().min(Math.max(64, MIN_CHUNK_CHARS)).max(100_000).default(DEFAULT_CHUNKING.max_chars),
    overlap_chars: z.number().int().min(0).default(DEFAULT_CHUNKING.overlap_chars),
  })
  .refine((c) => c.overlap_chars <= Math.floor(c.max_chars / 2), {
    message: "overlap_chars must be at most half of max_chars",
    path: ["overlap_chars"],
  });

export const createCollectionSchema = z.object({
  name: z
    .string()
    .regex(COLLECTION_NAME, "use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    .refine((name) => !COLLECTION_ID.test(name), "must not look like a collection id (col_ followed by 16 hex digits)"),
  description: z.string().max(4096).default(""),
  chunking: chunkingSchema.prefault({}),
});

export const documentFormatSchema = z.enum(["text", "markdown", "code"]);

export const ingestDocumentSchema = z.object({
  text: z.string().max(MAX_DOCUMENT_CHARS).refine(notBlank, "must not be empty"),
  source: z.string().min(1).max(4096).optional(),
  title: z.string().max(1024).optional(),
  /** Defaults from the source's extension (.md → markdown, .ts/.py/… → code), else "text". */
  format: documentFormatSchema.optional(),
  language: z.string().min(1).max(64).optional(),
  metadata: z
    .record(z.string(), z.json())
    .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= MAX_METADATA_BYTES, `must be at most ${MAX_METADATA_BYTES} bytes of JSON`)
    .optional(),
});

export const ingestSchema = z.object({
  documents: z.array(ingestDocumentSchema).min(1).max(MAX_DOCUMENTS_PER_INGEST),
});

export const queryModeSchema = z.enum(["hybrid", "fts", "vector"]);

export const querySchema = z.object({
  query: z.string().max(MAX_QUERY_CHARS).refine(notBlank, "must not be empty"),
  top_k: z.number().int().min(1).max(MAX_TOP_K).default(5),
  /** On the mode's score: fused RRF score (hybrid), negated BM25 (fts), cosine similarity (vector). */
  min_score: z.number().finite().optional(),
  /** Drops chunks below this cosine similarity from the vector ranking (vector and hybrid modes). */
  min_similarity: z.number().min(-1).max(1).optional(),
  mode: queryModeSchema.default("hybrid"),
});

export const listDocumentsSchema = z.object({
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
});

/** What callers send (defaults optional). */
export type CreateCollectionRequest = z.input<typeof createCollectionSchema>;
export type IngestRequest = z.input<typeof ingestSchema>;
export type IngestDocument = z.input<typeof ingestDocumentSchema>;
export type QueryRequest = z.input<typeof querySchema>;
export type ListDocumentsRequest = z.input<typeof listDocumentsSchema>;
export type QueryMode = z.output<typeof queryModeSchema>;

/** Parses `value` or throws a 400 naming the first offending field, e.g. `documents[2].text`. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    "",
  );
  throw invalidRequest(param ? `Invalid '${param}': ${issue.message}` : `Invalid request: ${issue.message}`, param || null);
}
