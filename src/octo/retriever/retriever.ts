/**
 * Knowledge collections: the service behind /octo/collections and the retriever arm. Ingest chunks
 * each document, embeds the chunks in batches with the configured embedding model and stores text,
 * FTS entries and vectors in one transaction; query ranks chunks by BM25 (FTS5), by cosine similarity
 * (brute force over the collection's vectors), or by both fused with reciprocal rank fusion.
 */
import { createHash, randomBytes } from "node:crypto";
import { invalidRequest, isLmxError, LmxError, notFound, conflict } from "../../errors.js";
import { chunkDocument, type Chunk } from "./chunking.js";
import { resolveFormat } from "./document-format.js";
import { toFtsMatchExpression } from "./fts-query.js";
import { reciprocalRankFusion, RRF_K } from "./fusion.js";
import {
  createCollectionSchema,
  ingestSchema,
  listDocumentsSchema,
  parseRequest,
  querySchema,
  type CreateCollectionRequest,
  type IngestRequest,
  type ListDocumentsRequest,
  type QueryMode,
  type QueryRequest,
} from "./schemas.js";
import {
  createRetrieverStore,
  migrate,
  type CollectionStats,
  type Db,
  type DocumentRow,
  type DocumentStats,
  type FtsHit,
  type NewChunk,
} from "./store.js";
import type {
  CollectionInfo,
  Deleted,
  DocumentInfo,
  EmbedFunction,
  IngestedDocument,
  IngestResponse,
  QueryResponse,
  QueryResult,
} from "./types.js";
import { normalize, type Scored } from "./vector.js";
import { createVectorIndex } from "./vector-index.js";

export interface RetrieverOptions {
  /** Opened by the caller (WAL recommended); the retriever creates its tables in it. */
  db: Db;
  embed: EmbedFunction;
  /** Recorded on each collection: vectors from different models are not comparable. */
  embeddingModel: string;
  /** Texts per embed call at ingest. Default 16. */
  embedBatchSize?: number;
  /** Candidates taken from each ranking (FTS, vector) before fusion; at least top_k. Default 50. */
  candidates?: number;
  /**
   * Bytes of packed vectors kept in memory for fast scans, across collections (LRU). Default 256 MiB
   * (≈ 1M chunks of 64 dimensions, 85k of 768); bigger collections are scanned from SQLite instead.
   */
  vectorCacheBytes?: number;
}

export interface Retriever {
  createCollection(request: CreateCollectionRequest): CollectionInfo;
  listCollections(): CollectionInfo[];
  /** By id or name. */
  getCollection(collection: string): CollectionInfo;
  deleteCollection(collection: string): Deleted;
  ingest(collection: string, request: IngestRequest, signal?: AbortSignal): Promise<IngestResponse>;
  listDocuments(collection: string, request?: ListDocumentsRequest): DocumentInfo[];
  getDocument(collection: string, documentId: string): DocumentInfo;
  deleteDocument(collection: string, documentId: string): Deleted;
  query(collection: string, request: QueryRequest, signal?: AbortSignal): Promise<QueryResponse>;
}

export function createRetriever(options: RetrieverOptions): Retriever {
  const { db, embed, embeddingModel } = options;
  const batchSize = options.embedBatchSize ?? 16;
  const candidates = options.candidates ?? 50;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError("embedBatchSize must be a positive integer");
  if (!Number.isInteger(candidates) || candidates < 1) throw new RangeError("candidates must be a positive integer");
  migrate(db);
  const store = createRetrieverStore(db);
  const vectorIndex = createVectorIndex(store, { maxCacheBytes: options.vectorCacheBytes ?? 256 * 1024 * 1024 });

  function requireCollection(ref: string): CollectionStats {
    const row = store.findCollection(ref);
    if (!row) throw notFound(`No collection '${ref}'.`, "collection_not_found", "collection");
    return row;
  }

  function requireSameModel(collection: CollectionStats): void {
    if (collection.embedding_model === embeddingModel) return;
    throw invalidRequest(
      `Collection '${collection.name}' holds embeddings from '${collection.embedding_model}', but the configured ` +
        `embedding model is '${embeddingModel}'; vectors from different models cannot be compared. ` +
        `Query it with mode "fts", or re-ingest into a new collection.`,
      "collection",
      "embedding_model_mismatch",
    );
  }

  function requireDimensions(collection: CollectionStats, dimensions: number): void {
    if (collection.dimensions === null || collection.dimensions === dimensions) return;
    throw invalidRequest(
      `The embedding model returned ${dimensions}-dimensional vectors, but collection '${collection.name}' ` +
        `holds ${collection.dimensions}-dimensional ones.`,
      "collection",
      "embedding_dimension_mismatch",
    );
  }

  /**
   * Embeds in batches; every vector comes back unit length and of one dimension. A text too long for
   * the model becomes a 400 on `param` (the model's own error names its `input`, which means nothing here).
   */
  async function embedAll(
    texts: string[],
    signal: AbortSignal,
    tooLong: { param: string; hint: string },
  ): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (let at = 0; at < texts.length; at += batchSize) {
      signal.throwIfAborted();
      const batch = texts.slice(at, at + batchSize);
      let raw: number[][];
      try {
        raw = await embed(batch, signal);
      } catch (err) {
        if (isLmxError(err) && err.code === "context_length_exceeded") {
          throw new LmxError(`${err.message} ${tooLong.hint}`, {
            status: err.status,
            type: err.type,
            code: err.code,
            param: tooLong.param,
            cause: err,
          });
        }
        throw err;
      }
      if (!Array.isArray(raw) || raw.length !== batch.length) {
        throw new Error(`embed returned ${Array.isArray(raw) ? raw.length : "no"} vectors for ${batch.length} texts`);
      }
      for (const vector of raw) {
        const dims = vectors[0]?.length ?? vector.length;
        if (vector.length === 0 || vector.length !== dims || !vector.every(Number.isFinite)) {
          throw new Error(`embed returned an invalid vector (length ${vector.length}, expected ${dims}, finite numbers)`);
        }
        vectors.push(normalize(vector));
      }
    }
    signal.throwIfAborted();
    return vectors;
  }

  type Plan =
    | { kind: "existing"; result: IngestedDocument }
    /** A repeat of an earlier document in the same request. */
    | { kind: "repeat"; of: number }
    | { kind: "new"; row: DocumentRow; chunks: Chunk[]; firstVector: number };

  return {
    createCollection(request) {
      const { name, description, chunking } = parseRequest(createCollectionSchema, request);
      if (store.findCollection(name)) throw conflict(`A collection named '${name}' already exists.`, "collection_exists");
      const id = `col_${randomBytes(8).toString("hex")}`;
      try {
        store.insertCollection({
          id,
          name,
          description,
          embedding_model: embeddingModel,
          dimensions: null,
          chunk_max_chars: chunking.max_chars,
          chunk_overlap_chars: chunking.overlap_chars,
          created_at: Math.floor(Date.now() / 1000),
        });
      } catch (err) {
        // Another writer (another process on the same database) took the name since the check above.
        if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
          throw conflict(`A collection named '${name}' already exists.`, "collection_exists");
        }
        throw err;
      }
      return toCollectionInfo(requireCollection(id));
    },

    listCollections: () => store.listCollections().map(toCollectionInfo),

    getCollection: (ref) => toCollectionInfo(requireCollection(ref)),

    deleteCollection(ref) {
      const { id } = requireCollection(ref);
      store.transaction(() => store.deleteCollection(id));
      vectorIndex.forget(id);
      return { id, deleted: true };
    },

    async ingest(ref, request, signal = new AbortController().signal) {
      const { documents } = parseRequest(ingestSchema, request);
      const collection = requireCollection(ref);
      requireSameModel(collection);
      const chunkOptions = { maxChars: collection.chunk_max_chars, overlapChars: collection.chunk_overlap_chars };

      const plans: Plan[] = [];
      const texts: string[] = [];
      const seenInRequest = new Map<string, number>();
      const now = Math.floor(Date.now() / 1000);
      for (const doc of documents) {
        const hash = createHash("sha256").update(doc.text).digest("hex");
        const repeatOf = seenInRequest.get(hash);
        if (repeatOf !== undefined) {
          plans.push({ kind: "repeat", of: repeatOf });
          continue;
        }
        seenInRequest.set(hash, plans.length);
        const existing = store.findDocumentByHash(collection.id, hash);
        if (existing) {
          plans.push({ kind: "existing", result: { document_id: existing.id, chunks: existing.chunks, deduplicated: true } });
          continue;
        }
        const { format, language } = resolveFormat(doc.source, doc.format, doc.language);
        // Whitespace-only chunks (possible only at the edges of odd documents) carry nothing to find.
        const chunks = chunkDocument({ text: doc.text, format, language }, chunkOptions).filter((c) => c.text.trim() !== "");
        plans.push({
          kind: "new",
          row: {
            id: `doc_${randomBytes(12).toString("hex")}`,
            collection_id: collection.id,
            source: doc.source ?? null,
            title: doc.title ?? null,
            metadata: JSON.stringify(doc.metadata ?? {}),
            format,
            language: language ?? null,
            content_hash: hash,
            chars: doc.text.length,
            created_at: now,
          },
          chunks,
          firstVector: texts.length,
        });
        for (const chunk of chunks) texts.push(chunk.text);
      }

      // Embed before writing anything: an abort or a failing model leaves the collection untouched.
      const vectors = await embedAll(texts, signal, {
        param: "documents",
        hint: `Chunks of this collection are too long for model '${embeddingModel}': create one with a smaller chunking.max_chars.`,
      });
      if (vectors.length > 0) requireDimensions(collection, vectors[0].length);

      const results = store.transaction(() => {
        // Re-read: the collection may have been deleted, or given dimensions, while we embedded.
        const current = store.findCollection(collection.id);
        if (!current) throw notFound(`No collection '${ref}'.`, "collection_not_found", "collection");
        if (vectors.length > 0) {
          requireDimensions(current, vectors[0].length);
          if (current.dimensions === null) store.setDimensions(current.id, vectors[0].length);
        }
        const out: IngestedDocument[] = [];
        for (const plan of plans) {
          if (plan.kind === "repeat") {
            out.push({ ...out[plan.of], deduplicated: true });
          } else if (plan.kind === "existing") {
            out.push(plan.result);
          } else {
            // A concurrent ingest of the same text may have committed while we embedded.
            const raced = store.findDocumentByHash(current.id, plan.row.content_hash);
            if (raced) {
              out.push({ document_id: raced.id, chunks: raced.chunks, deduplicated: true });
              continue;
            }
            const rows: NewChunk[] = plan.chunks.map((chunk, i) => ({
              idx: chunk.index,
              text: chunk.text,
              start: chunk.start,
              end: chunk.end,
              heading: chunk.heading ?? null,
              vector: vectors[plan.firstVector + i],
            }));
            store.insertDocument(plan.row, rows);
            out.push({ document_id: plan.row.id, chunks: rows.length, deduplicated: false });
          }
        }
        return out;
      });
      return { collection_id: collection.id, documents: results };
    },

    listDocuments(ref, request = {}) {
      const { limit, offset } = parseRequest(listDocumentsSchema, request);
      const { id } = requireCollection(ref);
      return store.listDocuments(id, limit, offset).map(toDocumentInfo);
    },

    getDocument(ref, documentId) {
      const { id } = requireCollection(ref);
      const row = store.getDocument(id, documentId);
      if (!row) throw notFound(`No document '${documentId}' in collection '${ref}'.`, "document_not_found", "document_id");
      return toDocumentInfo(row);
    },

    deleteDocument(ref, documentId) {
      const { id } = requireCollection(ref);
      const deleted = store.transaction(() => store.deleteDocument(id, documentId));
      if (!deleted) throw notFound(`No document '${documentId}' in collection '${ref}'.`, "document_not_found", "document_id");
      return { id: documentId, deleted: true };
    },

    async query(ref, request, signal = new AbortController().signal) {
      const { query, top_k, min_score, min_similarity, mode } = parseRequest(querySchema, request);
      const collection = requireCollection(ref);
      const limit = Math.max(candidates, top_k);

      const ftsHits = (() => {
        if (mode === "vector") return [];
        const match = toFtsMatchExpression(query);
        return match === null ? [] : store.searchFts(collection.id, match, limit);
      })();

      let vectorHits: Array<Scored<number>> = [];
      if (mode !== "fts") {
        requireSameModel(collection);
        // An empty collection has no dimensions yet and nothing to compare against: skip the model call.
        if (collection.dimensions !== null) {
          const [queryVector] = await embedAll([query], signal, {
            param: "query",
            hint: "Shorten the query, or use mode \"fts\".",
          });
          requireDimensions(collection, queryVector.length);
          vectorHits = vectorIndex.search(collection.id, queryVector, limit, min_similarity);
        }
      }

      const ranked = rankChunks(mode, ftsHits, vectorHits);
      const top = ranked.filter((r) => min_score === undefined || r.score >= min_score).slice(0, top_k);
      const chunks = store.chunksByIds(top.map((r) => r.chunk_id));
      const results: QueryResult[] = [];
      for (const r of top) {
        const chunk = chunks.get(r.chunk_id);
        if (!chunk) continue; // deleted between ranking and lookup
        results.push({
          ...r,
          document_id: chunk.document_id,
          text: chunk.text,
          citation: {
            source: chunk.source,
            title: chunk.title,
            chunk_index: chunk.idx,
            start: chunk.start_char,
            end: chunk.end_char,
            ...(chunk.heading === null ? {} : { heading: chunk.heading }),
          },
        });
      }
      return { collection_id: collection.id, mode, results };
    },
  };
}

type Ranked = Omit<QueryResult, "text" | "document_id" | "citation">;

/** Orders the candidates by the mode's score: BM25, cosine similarity, or both rankings fused. */
function rankChunks(mode: QueryMode, ftsHits: FtsHit[], vectorHits: Array<Scored<number>>): Ranked[] {
  const fts = new Map(ftsHits.map((hit, i) => [hit.chunkId, { fts_rank: i + 1, fts_score: -hit.bm25 }]));
  const vector = new Map(vectorHits.map((hit, i) => [hit.id, { vector_rank: i + 1, vector_similarity: hit.similarity }]));
  const describe = (chunk_id: number, score: number): Ranked => ({ chunk_id, score, ...fts.get(chunk_id), ...vector.get(chunk_id) });
  switch (mode) {
    case "fts":
      return ftsHits.map((hit) => describe(hit.chunkId, -hit.bm25));
    case "vector":
      return vectorHits.map((hit) => describe(hit.id, hit.similarity));
    case "hybrid": {
      const fused = reciprocalRankFusion([ftsHits.map((hit) => hit.chunkId), vectorHits.map((hit) => hit.id)], RRF_K);
      return fused.map((item) => describe(item.id, item.score));
    }
  }
}

function toCollectionInfo(row: CollectionStats): CollectionInfo {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    embedding_model: row.embedding_model,
    dimensions: row.dimensions,
    chunking: { max_chars: row.chunk_max_chars, overlap_chars: row.chunk_overlap_chars },
    documents: row.documents,
    chunks: row.chunks,
    created_at: row.created_at,
  };
}

function toDocumentInfo(row: DocumentStats): DocumentInfo {
  return {
    id: row.id,
    collection_id: row.collection_id,
    source: row.source,
    title: row.title,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    format: row.format,
    language: row.language,
    content_hash: row.content_hash,
    chars: row.chars,
    chunks: row.chunks,
    created_at: row.created_at,
  };
}
