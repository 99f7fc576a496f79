/** What the retriever service returns: plain JSON-ready data, snake_case like the /octo API. */
import type { DocumentFormat } from "./chunking.js";
import type { QueryMode } from "./schemas.js";

/** Embeds texts in order, one vector per text; the retriever batches its calls. */
export type EmbedFunction = (texts: string[], signal: AbortSignal) => Promise<number[][]>;

export interface CollectionInfo {
  id: string;
  name: string;
  description: string;
  /** The model the collection's vectors come from; queries and ingests need the same one. */
  embedding_model: string;
  /** Vector length, null until the first ingest. */
  dimensions: number | null;
  chunking: { max_chars: number; overlap_chars: number };
  documents: number;
  chunks: number;
  /** Unix seconds. */
  created_at: number;
}

export interface DocumentInfo {
  id: string;
  collection_id: string;
  source: string | null;
  title: string | null;
  metadata: Record<string, unknown>;
  format: DocumentFormat;
  language: string | null;
  /** sha256 of the text, hex: the key for deduplication within a collection. */
  content_hash: string;
  chars: number;
  chunks: number;
  created_at: number;
}

export interface IngestedDocument {
  document_id: string;
  chunks: number;
  /** True when the collection already held this exact text: nothing was written. */
  deduplicated: boolean;
}

export interface IngestResponse {
  collection_id: string;
  documents: IngestedDocument[];
}

export interface Citation {
  source: string | null;
  title: string | null;
  /** The chunk's index as chunkDocument numbered it (indexes of whitespace-only chunks are skipped). */
  chunk_index: number;
  /** UTF-16 offsets of the chunk in the ingested text. */
  start: number;
  end: number;
  /** Markdown heading path of the chunk's section. */
  heading?: string;
}

export interface QueryResult {
  chunk_id: number;
  document_id: string;
  text: string;
  /**
   * Higher is better; its scale depends on the mode. hybrid: Σ 1/(60 + rank) over the FTS and vector
   * rankings, in (0, 2/61 ≈ 0.0328] (≤ 1/61 ≈ 0.0164 when only one side found the chunk).
   * fts: SQLite's bm25() negated, > 0 and unbounded. vector: cosine similarity in [-1, 1].
   */
  score: number;
  /** 1-based rank in the FTS (BM25) candidates, when the chunk is among them. */
  fts_rank?: number;
  /** The negated bm25() value behind fts_rank. */
  fts_score?: number;
  /** 1-based rank in the vector candidates, when the chunk is among them. */
  vector_rank?: number;
  vector_similarity?: number;
  citation: Citation;
}

export interface QueryResponse {
  collection_id: string;
  mode: QueryMode;
  results: QueryResult[];
}

export interface Deleted {
  id: string;
  deleted: true;
}
