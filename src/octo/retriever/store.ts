/**
 * The retriever's tables in the caller's SQLite database, and the statements over them. Rows only:
 * validation, embedding and ranking live in retriever.ts.
 *
 * Schema (all names prefixed `retriever_`, since the database is shared with the rest of LMX):
 * - collections: name (unique), embedding model and its dimensions (set by the first ingest), the
 *   chunking options every document of the collection is cut with, and a generation counter that
 *   every document insert or delete bumps (vector-index.ts caches vectors per generation).
 * - documents: source/title/metadata as given, and a sha256 of the text: the same text ingested twice
 *   into a collection is stored once (UNIQUE (collection_id, content_hash)).
 * - chunks: the document's chunks with their offsets; INTEGER ids, which the FTS index keys on.
 * - chunks_fts: an FTS5 index over chunk text and heading path, with external content (the chunks
 *   table). External content stores each text once, where a regular FTS5 table would keep a second
 *   copy; the price is that the index must be told what to forget, which the triggers below do with the
 *   old row's values. (A contentless table would need the same values to delete, and could not give
 *   the text back for snippets.) Chunks are never updated in place, but an update trigger keeps the
 *   index right if one ever is.
 * - embeddings: one unit-length Float32 BLOB per chunk, in its own table so a vector scan reads vectors
 *   and not chunk text; collection_id is repeated there so the scan needs no join.
 *
 * Deletes cascade twice over on purpose: foreign keys with ON DELETE CASCADE (effective when the
 * connection has foreign_keys on, better-sqlite3's default) and AFTER DELETE triggers, so deleting a
 * collection or document removes its chunks, vectors and FTS entries whatever the connection's setting.
 */
import type Database from "better-sqlite3";
import { toBlob } from "./vector.js";

export type Db = Database.Database;

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS retriever_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS retriever_collections (
  id                  TEXT PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  description         TEXT NOT NULL DEFAULT '',
  embedding_model     TEXT NOT NULL,
  dimensions          INTEGER,
  chunk_max_chars     INTEGER NOT NULL,
  chunk_overlap_chars INTEGER NOT NULL,
  -- Bumped by every write to the collection's chunks: in-memory vector caches compare it to know they are stale.
  generation          INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS retriever_documents (
  id            TEXT PRIMARY KEY,
  collection_id TEXT NOT NULL REFERENCES retriever_collections (id) ON DELETE CASCADE,
  source        TEXT,
  title         TEXT,
  metadata      TEXT NOT NULL DEFAULT '{}',
  format        TEXT NOT NULL CHECK (format IN ('text', 'markdown', 'code')),
  language      TEXT,
  content_hash  TEXT NOT NULL,
  chars         INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  UNIQUE (collection_id, content_hash)
);

CREATE TABLE IF NOT EXISTS retriever_chunks (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  document_id   TEXT NOT NULL REFERENCES retriever_documents (id) ON DELETE CASCADE,
  collection_id TEXT NOT NULL,
  idx           INTEGER NOT NULL,
  text          TEXT NOT NULL,
  start_char    INTEGER NOT NULL,
  end_char      INTEGER NOT NULL,
  heading       TEXT,
  UNIQUE (document_id, idx)
);
CREATE INDEX IF NOT EXISTS retriever_chunks_collection ON retriever_chunks (collection_id);

CREATE TABLE IF NOT EXISTS retriever_embeddings (
  chunk_id      INTEGER PRIMARY KEY REFERENCES retriever_chunks (id) ON DELETE CASCADE,
  collection_id TEXT NOT NULL,
  vector        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS retriever_embeddings_collection ON retriever_embeddings (collection_id);

-- porter: "gardening" finds "garden"; remove_diacritics 2: "cafe" finds "café".
CREATE VIRTUAL TABLE IF NOT EXISTS retriever_chunks_fts USING fts5 (
  text, heading,
  content = 'retriever_chunks', content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER IF NOT EXISTS retriever_chunks_ai AFTER INSERT ON retriever_chunks BEGIN
  INSERT INTO retriever_chunks_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER IF NOT EXISTS retriever_chunks_au AFTER UPDATE ON retriever_chunks BEGIN
  INSERT INTO retriever_chunks_fts (retriever_chunks_fts, rowid, text, heading) VALUES ('delete', old.id, old.text, old.heading);
  INSERT INTO retriever_chunks_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER IF NOT EXISTS retriever_chunks_ad AFTER DELETE ON retriever_chunks BEGIN
  INSERT INTO retriever_chunks_fts (retriever_chunks_fts, rowid, text, heading) VALUES ('delete', old.id, old.text, old.heading);
  DELETE FROM retriever_embeddings WHERE chunk_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS retriever_documents_ad AFTER DELETE ON retriever_documents BEGIN
  DELETE FROM retriever_chunks WHERE document_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS retriever_collections_ad AFTER DELETE ON retriever_collections BEGIN
  DELETE FROM retriever_documents WHERE collection_id = old.id;
END;
`;

/** Creates the retriever's tables, indexes and triggers if missing. Safe to run on every start. */
export function migrate(db: Db): void {
  db.transaction(() => {
    db.exec(SCHEMA);
    const row = db.prepare("SELECT value FROM retriever_meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    const version = row ? Number(row.value) : 0;
    if (version > SCHEMA_VERSION) {
      throw new Error(`retriever schema version ${version} is newer than this LMX understands (${SCHEMA_VERSION})`);
    }
    // Later schema changes go here as `if (version < N) { … }` steps, before the version is recorded.
    db.prepare("INSERT OR REPLACE INTO retriever_meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
  }).immediate();
}

export interface CollectionRow {
  id: string;
  name: string;
  description: string;
  embedding_model: string;
  dimensions: number | null;
  chunk_max_chars: number;
  chunk_overlap_chars: number;
  generation: number;
  created_at: number;
}

export interface CollectionStats extends CollectionRow {
  documents: number;
  chunks: number;
}

export type DocumentFormatValue = "text" | "markdown" | "code";

export interface DocumentRow {
  id: string;
  collection_id: string;
  source: string | null;
  title: string | null;
  /** JSON text of an object. */
  metadata: string;
  format: DocumentFormatValue;
  language: string | null;
  content_hash: string;
  chars: number;
  created_at: number;
}

export interface DocumentStats extends DocumentRow {
  chunks: number;
}

export interface NewChunk {
  idx: number;
  text: string;
  start: number;
  end: number;
  heading: string | null;
  /** Unit length, the collection's dimensions. */
  vector: Float32Array;
}

/** A chunk with what a citation needs of its document. */
export interface ChunkHit {
  id: number;
  document_id: string;
  idx: number;
  text: string;
  start_char: number;
  end_char: number;
  heading: string | null;
  source: string | null;
  title: string | null;
}

export interface FtsHit {
  chunkId: number;
  /** SQLite's bm25(): lower (more negative) is more relevant. */
  bm25: number;
}

export interface RetrieverStore {
  /** Runs `fn` in one IMMEDIATE transaction (writes take the lock up front, so no upgrade deadlock). */
  transaction<T>(fn: () => T): T;
  /** Runs `fn` in one read transaction: a consistent snapshot across several statements. */
  readTransaction<T>(fn: () => T): T;
  insertCollection(row: Omit<CollectionRow, "generation">): void;
  /** By id, else by name. */
  findCollection(ref: string): CollectionStats | undefined;
  listCollections(): CollectionStats[];
  deleteCollection(id: string): boolean;
  setDimensions(collectionId: string, dimensions: number): void;
  findDocumentByHash(collectionId: string, contentHash: string): DocumentStats | undefined;
  getDocument(collectionId: string, documentId: string): DocumentStats | undefined;
  listDocuments(collectionId: string, limit: number, offset: number): DocumentStats[];
  insertDocument(row: DocumentRow, chunks: readonly NewChunk[]): void;
  deleteDocument(collectionId: string, documentId: string): boolean;
  /** Chunks of the collection matching an FTS5 expression, most relevant first. */
  searchFts(collectionId: string, match: string, limit: number): FtsHit[];
  /** The collection's generation, undefined when it does not exist. */
  generation(collectionId: string): number | undefined;
  embeddingCount(collectionId: string): number;
  /** Every (chunk id, vector BLOB) of the collection in chunk id order, streamed. */
  embeddings(collectionId: string): IterableIterator<[number, Buffer]>;
  chunksByIds(ids: readonly number[]): Map<number, ChunkHit>;
}

export function createRetrieverStore(db: Db): RetrieverStore {
  const withStats = `
    SELECT c.*,
      (SELECT COUNT(*) FROM retriever_documents d WHERE d.collection_id = c.id) AS documents,
      (SELECT COUNT(*) FROM retriever_chunks k WHERE k.collection_id = c.id) AS chunks
    FROM retriever_collections c`;
  const documentWithStats = `
    SELECT d.*, (SELECT COUNT(*) FROM retriever_chunks k WHERE k.document_id = d.id) AS chunks
    FROM retriever_documents d`;

  const statements = {
    insertCollection: db.prepare(`
      INSERT INTO retriever_collections
        (id, name, description, embedding_model, dimensions, chunk_max_chars, chunk_overlap_chars, created_at)
      VALUES (@id, @name, @description, @embedding_model, @dimensions, @chunk_max_chars, @chunk_overlap_chars, @created_at)`),
    collectionById: db.prepare(`${withStats} WHERE c.id = ?`),
    collectionByName: db.prepare(`${withStats} WHERE c.name = ?`),
    listCollections: db.prepare(`${withStats} ORDER BY c.created_at, c.rowid`),
    deleteCollection: db.prepare("DELETE FROM retriever_collections WHERE id = ?"),
    setDimensions: db.prepare("UPDATE retriever_collections SET dimensions = ? WHERE id = ?"),
    documentByHash: db.prepare(`${documentWithStats} WHERE d.collection_id = ? AND d.content_hash = ?`),
    documentById: db.prepare(`${documentWithStats} WHERE d.collection_id = ? AND d.id = ?`),
    listDocuments: db.prepare(`${documentWithStats} WHERE d.collection_id = ? ORDER BY d.created_at, d.rowid LIMIT ? OFFSET ?`),
    insertDocument: db.prepare(`
      INSERT INTO retriever_documents
        (id, collection_id, source, title, metadata, format, language, content_hash, chars, created_at)
      VALUES (@id, @collection_id, @source, @title, @metadata, @format, @language, @content_hash, @chars, @created_at)`),
    insertChunk: db.prepare(`
      INSERT INTO retriever_chunks (document_id, collection_id, idx, text, start_char, end_char, heading)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    insertEmbedding: db.prepare("INSERT INTO retriever_embeddings (chunk_id, collection_id, vector) VALUES (?, ?, ?)"),
    deleteDocument: db.prepare("DELETE FROM retriever_documents WHERE collection_id = ? AND id = ?"),
    searchFts: db.prepare(`
      SELECT f.rowid AS chunkId, bm25(retriever_chunks_fts, 1.0, 0.5) AS bm25
      FROM retriever_chunks_fts f JOIN retriever_chunks c ON c.id = f.rowid
      WHERE retriever_chunks_fts MATCH ? AND c.collection_id = ?
      ORDER BY bm25, f.rowid
      LIMIT ?`),
    bumpGeneration: db.prepare("UPDATE retriever_collections SET generation = generation + 1 WHERE id = ?"),
    generation: db.prepare("SELECT generation FROM retriever_collections WHERE id = ?").pluck(),
    embeddingCount: db.prepare("SELECT COUNT(*) FROM retriever_embeddings WHERE collection_id = ?").pluck(),
    embeddings: db
      .prepare("SELECT chunk_id, vector FROM retriever_embeddings WHERE collection_id = ? ORDER BY chunk_id")
      .raw(),
  };

  return {
    transaction: (fn) => db.transaction(fn).immediate(),
    readTransaction: (fn) => db.transaction(fn).deferred(),
    insertCollection: (row) => void statements.insertCollection.run(row),
    findCollection: (ref) =>
      (statements.collectionById.get(ref) ?? statements.collectionByName.get(ref)) as CollectionStats | undefined,
    listCollections: () => statements.listCollections.all() as CollectionStats[],
    deleteCollection: (id) => statements.deleteCollection.run(id).changes > 0,
    setDimensions: (collectionId, dimensions) => void statements.setDimensions.run(dimensions, collectionId),
    findDocumentByHash: (collectionId, hash) =>
      statements.documentByHash.get(collectionId, hash) as DocumentStats | undefined,
    getDocument: (collectionId, documentId) =>
      statements.documentById.get(collectionId, documentId) as DocumentStats | undefined,
    listDocuments: (collectionId, limit, offset) =>
      statements.listDocuments.all(collectionId, limit, offset) as DocumentStats[],
    insertDocument: (row, chunks) => {
      statements.insertDocument.run(row);
      statements.bumpGeneration.run(row.collection_id);
      for (const chunk of chunks) {
        const { lastInsertRowid } = statements.insertChunk.run(
          row.id,
          row.collection_id,
          chunk.idx,
          chunk.text,
          chunk.start,
          chunk.end,
          chunk.heading,
        );
        statements.insertEmbedding.run(lastInsertRowid, row.collection_id, toBlob(chunk.vector));
      }
    },
    deleteDocument: (collectionId, documentId) => {
      const deleted = statements.deleteDocument.run(collectionId, documentId).changes > 0;
      if (deleted) statements.bumpGeneration.run(collectionId);
      return deleted;
    },
    searchFts: (collectionId, match, limit) => statements.searchFts.all(match, collectionId, limit) as FtsHit[],
    generation: (collectionId) => statements.generation.get(collectionId) as number | undefined,
    embeddingCount: (collectionId) => statements.embeddingCount.get(collectionId) as number,
    embeddings: (collectionId) => statements.embeddings.iterate(collectionId) as IterableIterator<[number, Buffer]>,
    chunksByIds: (ids) => {
      const hits = new Map<number, ChunkHit>();
      if (ids.length === 0) return hits;
      // One statement per distinct list length; result sets are small (top_k), so this stays cheap.
      const rows = db
        .prepare(
          `SELECT c.id, c.document_id, c.idx, c.text, c.start_char, c.end_char, c.heading, d.source, d.title
           FROM retriever_chunks c JOIN retriever_documents d ON d.id = c.document_id
           WHERE c.id IN (${ids.map(() => "?").join(", ")})`,
        )
        .all(...ids) as ChunkHit[];
      for (const row of rows) hits.set(row.id, row);
      return hits;
    },
  };
}
