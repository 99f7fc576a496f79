/** Octo's retriever: knowledge collections with hybrid (BM25 + vector) search. See README.md. */
export { createRetriever } from "./retriever.js";
export type { Retriever, RetrieverOptions } from "./retriever.js";
export { migrate } from "./store.js";
export { chunkDocument } from "./chunking.js";
export type { Chunk, ChunkInput, ChunkOptions, DocumentFormat } from "./chunking.js";
export { toFtsMatchExpression } from "./fts-query.js";
export { reciprocalRankFusion, RRF_K } from "./fusion.js";
export {
  createCollectionSchema,
  ingestSchema,
  listDocumentsSchema,
  querySchema,
  parseRequest,
} from "./schemas.js";
export type { CreateCollectionRequest, IngestDocument, IngestRequest, ListDocumentsRequest, QueryMode, QueryRequest } from "./schemas.js";
export type {
  Citation,
  CollectionInfo,
  Deleted,
  DocumentInfo,
  EmbedFunction,
  IngestedDocument,
  IngestResponse,
  QueryResponse,
  QueryResult,
} from "./types.js";
