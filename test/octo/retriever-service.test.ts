import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import { createRetriever, type RetrieverOptions } from "../../src/octo/retriever/retriever.js";
import { migrate } from "../../src/octo/retriever/store.js";

/** A stand-in embedding: words hashed into `dims` buckets. Lexical, deterministic, and instant. */
function bagOfWords(dims: number) {
  const calls: string[][] = [];
  const embed = async (texts: string[], signal: AbortSignal) => {
    signal.throwIfAborted();
    calls.push(texts);
    return texts.map((text) => {
      const v = new Array<number>(dims).fill(0);
      for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
        let h = 0;
        for (const c of word) h = (h * 31 + c.codePointAt(0)!) >>> 0;
        v[h % dims] += 1;
      }
      return v;
    });
  };
  return { embed, calls };
}

const dbs: Database.Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function setup(overrides: Partial<RetrieverOptions> = {}, db = new Database(":memory:")) {
  dbs.push(db);
  const fake = bagOfWords(256);
  const retriever = createRetriever({ db, embed: fake.embed, embeddingModel: "bow", ...overrides });
  return { db, retriever, calls: fake.calls };
}

async function rejection(promise: Promise<unknown>): Promise<LmxError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LmxError);
  return err as LmxError;
}

function thrown(fn: () => unknown): LmxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LmxError);
    return err as LmxError;
  }
  throw new Error("expected an LmxError");
}

const count = (db: Database.Database, sql: string, ...params: unknown[]) =>
  db.prepare(sql).pluck().get(...params) as number;

/** Rows left in every retriever table, and whether the FTS index agrees with its content table. */
function census(db: Database.Database) {
  db.prepare("INSERT INTO retriever_chunks_fts (retriever_chunks_fts) VALUES ('integrity-check')").run();
  return {
    collections: count(db, "SELECT COUNT(*) FROM retriever_collections"),
    documents: count(db, "SELECT COUNT(*) FROM retriever_documents"),
    chunks: count(db, "SELECT COUNT(*) FROM retriever_chunks"),
    embeddings: count(db, "SELECT COUNT(*) FROM retriever_embeddings"),
    // Rows of the FTS index's own docsize shadow table: one per indexed chunk.
    ftsRows: count(db, "SELECT COUNT(*) FROM retriever_chunks_fts_docsize"),
  };
}

describe("migrate", () => {
  it("is idempotent and leaves data alone", async () => {
    const { db, retriever } = setup();
    retriever.createCollection({ name: "keep" });
    await retriever.ingest("keep", { documents: [{ text: "A document about sourdough bread." }] });
    migrate(db);
    migrate(db);
    expect(census(db)).toMatchObject({ collections: 1, documents: 1, chunks: 1, embeddings: 1, ftsRows: 1 });
    expect(db.prepare("SELECT value FROM retriever_meta WHERE key = 'schema_version'").pluck().get()).toBe("1");
  });

  it("works on a file database in WAL mode", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lmx-retriever-"));
    try {
      const db = new Database(join(dir, "lmx.db"));
      db.pragma("journal_mode = WAL");
      const { retriever } = setup({}, db);
      retriever.createCollection({ name: "wal" });
      await retriever.ingest("wal", { documents: [{ text: "Write-ahead logging keeps readers unblocked." }] });
      db.close();
      const reopened = new Database(join(dir, "lmx.db"));
      const again = setup({}, reopened).retriever;
      expect(again.getCollection("wal")).toMatchObject({ documents: 1, chunks: 1, dimensions: 256 });
      expect((await again.query("wal", { query: "readers", mode: "fts" })).results).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("collections", () => {
  it("are created with defaults, found by id or name, listed with counts", async () => {
    const { retriever } = setup();
    const created = retriever.createCollection({ name: "notes", description: "my notes" });
    expect(created).toMatchObject({
      name: "notes",
      description: "my notes",
      embedding_model: "bow",
      dimensions: null,
      chunking: { max_chars: 1000, overlap_chars: 150 },
      documents: 0,
      chunks: 0,
    });
    expect(created.id).toMatch(/^col_[0-9a-f]{16}$/);
    expect(retriever.getCollection(created.id)).toEqual(created);
    expect(retriever.getCollection("notes")).toEqual(created);
    retriever.createCollection({ name: "code", chunking: { max_chars: 400, overlap_chars: 40 } });
    await retriever.ingest("notes", { documents: [{ text: "one" }, { text: "two" }] });
    expect(retriever.listCollections().map((c) => [c.name, c.documents, c.chunks, c.dimensions])).toEqual([
      ["notes", 2, 2, 256],
      ["code", 0, 0, null],
    ]);
    expect(retriever.getCollection("code").chunking).toEqual({ max_chars: 400, overlap_chars: 40 });
  });

  it("reject duplicate names (409), bad names and options (400), unknown references (404)", () => {
    const { retriever } = setup();
    retriever.createCollection({ name: "dup" });
    expect(thrown(() => retriever.createCollection({ name: "dup" }))).toMatchObject({ status: 409, code: "collection_exists" });
    for (const name of ["", "has space", "-leading", "a/b", "col_0123456789abcdef", "x".repeat(129)]) {
      expect(thrown(() => retriever.createCollection({ name })), name).toMatchObject({ status: 400, param: "name" });
    }
    expect(thrown(() => retriever.createCollection({ name: "ok", chunking: { max_chars: 100, overlap_chars: 60 } }))).toMatchObject({
      status: 400,
      param: "chunking.overlap_chars",
    });
    expect(thrown(() => retriever.getCollection("nope"))).toMatchObject({ status: 404, code: "collection_not_found" });
    expect(thrown(() => retriever.deleteCollection("nope"))).toMatchObject({ status: 404 });
  });
});

describe("ingest", () => {
  it("chunks, embeds in batches, and stores documents with their metadata", async () => {
    const { retriever, calls } = setup({ embedBatchSize: 4 });
    retriever.createCollection({ name: "c", chunking: { max_chars: 100, overlap_chars: 20 } });
    const long = Array.from({ length: 20 }, (_, i) => `Sentence ${i} is about gardens.`).join(" ");
    const response = await retriever.ingest("c", {
      documents: [
        { text: long, source: "garden.txt", title: "Gardens", metadata: { tags: ["a", "b"], n: 1 } },
        { text: "# Title\n\nBody text.\n", source: "README.md" },
        { text: "def f():\n    return 1\n", source: "tool.py" },
      ],
    });
    const [garden, readme, tool] = response.documents;
    expect(garden.chunks).toBeGreaterThan(5);
    expect(garden.deduplicated).toBe(false);
    expect(garden.document_id).toMatch(/^doc_[0-9a-f]{24}$/);
    const totalChunks = garden.chunks + readme.chunks + tool.chunks;
    expect(calls.flat()).toHaveLength(totalChunks);
    expect(calls.every((batch) => batch.length <= 4)).toBe(true);

    expect(retriever.getDocument("c", garden.document_id)).toMatchObject({
      source: "garden.txt",
      title: "Gardens",
      metadata: { tags: ["a", "b"], n: 1 },
      format: "text",
      language: null,
      chars: long.length,
      chunks: garden.chunks,
    });
    expect(retriever.getDocument("c", readme.document_id)).toMatchObject({ format: "markdown", metadata: {} });
    expect(retriever.getDocument("c", tool.document_id)).toMatchObject({ format: "code", language: "python" });
    expect(retriever.listDocuments("c").map((d) => d.id)).toEqual([garden, readme, tool].map((d) => d.document_id));
    expect(retriever.listDocuments("c", { limit: 1, offset: 1 }).map((d) => d.id)).toEqual([readme.document_id]);
    expect(thrown(() => retriever.getDocument("c", "doc_missing"))).toMatchObject({ status: 404, code: "document_not_found" });
  });

  it("deduplicates by content: the same text again is a no-op returning the existing document", async () => {
    const { db, retriever, calls } = setup();
    retriever.createCollection({ name: "c" });
    retriever.createCollection({ name: "other" });
    const first = await retriever.ingest("c", { documents: [{ text: "Unique text.", source: "a.txt" }] });
    const embedded = calls.length;
    const again = await retriever.ingest("c", {
      documents: [
        { text: "Unique text.", source: "b.txt" },
        { text: "Fresh text." },
        { text: "Fresh text." },
      ],
    });
    expect(again.documents[0]).toEqual({ ...first.documents[0], deduplicated: true });
    expect(again.documents[1].deduplicated).toBe(false);
    expect(again.documents[2]).toEqual({ ...again.documents[1], deduplicated: true });
    expect(calls.slice(embedded).flat()).toEqual(["Fresh text."]);
    expect(census(db).documents).toBe(2);
    // Dedupe is per collection.
    const elsewhere = await retriever.ingest("other", { documents: [{ text: "Unique text." }] });
    expect(elsewhere.documents[0].deduplicated).toBe(false);
  });

  it("deduplicates concurrent ingests of the same text", async () => {
    const { db, retriever } = setup();
    retriever.createCollection({ name: "c" });
    const [a, b] = await Promise.all([
      retriever.ingest("c", { documents: [{ text: "Same text twice at once." }] }),
      retriever.ingest("c", { documents: [{ text: "Same text twice at once." }] }),
    ]);
    expect(a.documents[0].document_id).toBe(b.documents[0].document_id);
    expect([a.documents[0].deduplicated, b.documents[0].deduplicated].sort()).toEqual([false, true]);
    expect(census(db)).toMatchObject({ documents: 1, chunks: 1, embeddings: 1, ftsRows: 1 });
  });

  it("rejects a dimension mismatch with the collection as a 400, writing nothing", async () => {
    const db = new Database(":memory:");
    const { retriever } = setup({}, db);
    retriever.createCollection({ name: "c" });
    await retriever.ingest("c", { documents: [{ text: "two hundred fifty-six dimensions" }] });
    const other = createRetriever({ db, embed: bagOfWords(16).embed, embeddingModel: "bow" });
    const err = await rejection(other.ingest("c", { documents: [{ text: "sixteen dimensions" }] }));
    expect(err).toMatchObject({ status: 400, code: "embedding_dimension_mismatch" });
    expect(err.message).toMatch(/16-dimensional.*256-dimensional/);
    expect(await rejection(other.query("c", { query: "dimensions" }))).toMatchObject({ status: 400, code: "embedding_dimension_mismatch" });
    expect(census(db)).toMatchObject({ documents: 1, chunks: 1 });
  });

  it("refuses to mix embedding models in a collection, but still serves FTS queries", async () => {
    const db = new Database(":memory:");
    const { retriever } = setup({}, db);
    retriever.createCollection({ name: "c" });
    await retriever.ingest("c", { documents: [{ text: "model one wrote this" }] });
    const other = createRetriever({ db, embed: bagOfWords(256).embed, embeddingModel: "another-model" });
    expect(await rejection(other.ingest("c", { documents: [{ text: "x" }] }))).toMatchObject({ status: 400, code: "embedding_model_mismatch" });
    expect(await rejection(other.query("c", { query: "model" }))).toMatchObject({ status: 400, code: "embedding_model_mismatch" });
    expect((await other.query("c", { query: "model", mode: "fts" })).results).toHaveLength(1);
  });

  it("validates requests with 400s naming the field", async () => {
    const { retriever } = setup();
    retriever.createCollection({ name: "c" });
    const cases: Array<[unknown, string]> = [
      [{ documents: [] }, "documents"],
      [{ documents: [{ text: "   " }] }, "documents[0].text"],
      [{ documents: [{ text: "ok" }, { text: 5 }] }, "documents[1].text"],
      [{ documents: [{ text: "ok", format: "pdf" }] }, "documents[0].format"],
      [{ documents: [{ text: "ok", metadata: "not an object" }] }, "documents[0].metadata"],
      [{}, "documents"],
    ];
    for (const [request, param] of cases) {
      // Deliberately malformed input, as an HTTP body might be.
      const err = await rejection(retriever.ingest("c", request as never));
      expect(err, param).toMatchObject({ status: 400, param });
    }
    expect(await rejection(retriever.ingest("missing", { documents: [{ text: "x" }] }))).toMatchObject({ status: 404 });
    for (const [request, param] of [
      [{ query: "" }, "query"],
      [{ query: "x", top_k: 0 }, "top_k"],
      [{ query: "x", top_k: 1.5 }, "top_k"],
      [{ query: "x", mode: "semantic" }, "mode"],
      [{ query: "x", min_similarity: 2 }, "min_similarity"],
    ] as const) {
      expect(await rejection(retriever.query("c", request as never)), param).toMatchObject({ status: 400, param });
    }
  });

  it("writes nothing when aborted or when the embedding model fails", async () => {
    const { db, retriever } = setup();
    retriever.createCollection({ name: "c" });
    const controller = new AbortController();
    controller.abort();
    await expect(retriever.ingest("c", { documents: [{ text: "never stored" }] }, controller.signal)).rejects.toThrow();
    const failing = createRetriever({
      db,
      embed: async () => {
        throw new Error("model crashed");
      },
      embeddingModel: "bow",
    });
    await expect(failing.ingest("c", { documents: [{ text: "never stored" }] })).rejects.toThrow("model crashed");
    const short = createRetriever({ db, embed: async () => [], embeddingModel: "bow" });
    await expect(short.ingest("c", { documents: [{ text: "never stored" }] })).rejects.toThrow(/0 vectors for 1 texts/);
    expect(census(db)).toMatchObject({ documents: 0, chunks: 0, embeddings: 0, ftsRows: 0 });
    expect(retriever.getCollection("c").dimensions).toBeNull();
  });
  it("turns the model's context-length error into a 400 that says what to change", async () => {
    const db = new Database(":memory:");
    dbs.push(db);
    const tooLong = async () => {
      throw new LmxError("Input 0 has 900 tokens; this model's maximum context length is 512 tokens.", {
        status: 400,
        type: "invalid_request_error",
        code: "context_length_exceeded",
        param: "input",
      });
    };
    const retriever = createRetriever({ db, embed: tooLong, embeddingModel: "small-ctx" });
    retriever.createCollection({ name: "c" });
    const ingestErr = await rejection(retriever.ingest("c", { documents: [{ text: "long" }] }));
    expect(ingestErr).toMatchObject({ status: 400, code: "context_length_exceeded", param: "documents" });
    expect(ingestErr.message).toMatch(/smaller chunking\.max_chars/);
    // A query only embeds when the collection has vectors; give it one through a working model first.
    await createRetriever({ db, embed: bagOfWords(8).embed, embeddingModel: "small-ctx" }).ingest("c", { documents: [{ text: "x" }] });
    const queryErr = await rejection(retriever.query("c", { query: "a long question" }));
    expect(queryErr).toMatchObject({ status: 400, code: "context_length_exceeded", param: "query" });
  });
});

describe("deletes cascade to chunks, vectors and the FTS index", () => {
  for (const foreignKeys of [true, false]) {
    it(`with foreign_keys ${foreignKeys ? "on" : "off"}`, async () => {
      const db = new Database(":memory:");
      db.pragma(`foreign_keys = ${foreignKeys ? "ON" : "OFF"}`);
      const { retriever } = setup({}, db);
      retriever.createCollection({ name: "a", chunking: { max_chars: 64, overlap_chars: 16 } });
      retriever.createCollection({ name: "b" });
      const text = "Tomatoes want sun. Basil likes warmth. Mint spreads everywhere. Water in the morning. ".repeat(4);
      const ingested = await retriever.ingest("a", { documents: [{ text }, { text: "Astronomy: the moon orbits the earth." }] });
      await retriever.ingest("b", { documents: [{ text: "Tomatoes in collection b." }] });
      const chunksOfFirst = ingested.documents[0].chunks;
      const before = census(db);
      expect(before.chunks).toBe(chunksOfFirst + 2);
      expect(before.embeddings).toBe(before.chunks);
      expect(before.ftsRows).toBe(before.chunks);

      expect(retriever.deleteDocument("a", ingested.documents[0].document_id)).toEqual({
        id: ingested.documents[0].document_id,
        deleted: true,
      });
      expect(census(db)).toEqual({ ...before, documents: 2, chunks: 2, embeddings: 2, ftsRows: 2 });
      expect((await retriever.query("a", { query: "tomatoes", mode: "fts" })).results).toEqual([]);
      expect((await retriever.query("b", { query: "tomatoes", mode: "fts" })).results).toHaveLength(1);
      expect(thrown(() => retriever.deleteDocument("a", ingested.documents[0].document_id))).toMatchObject({ status: 404 });
      // A document id from another collection is not found here.
      const [{ document_id: inB }] = retriever.listDocuments("b").map((d) => ({ document_id: d.id }));
      expect(thrown(() => retriever.deleteDocument("a", inB))).toMatchObject({ status: 404 });

      const a = retriever.getCollection("a");
      expect(retriever.deleteCollection("a")).toEqual({ id: a.id, deleted: true });
      expect(census(db)).toEqual({ collections: 1, documents: 1, chunks: 1, embeddings: 1, ftsRows: 1 });
      expect(thrown(() => retriever.getCollection("a"))).toMatchObject({ status: 404 });
      // The name is free again, and the new collection starts empty.
      retriever.createCollection({ name: "a" });
      expect((await retriever.query("a", { query: "moon" })).results).toEqual([]);
    });
  }
});

describe("query", () => {
  async function corpus() {
    const ctx = setup();
    ctx.retriever.createCollection({ name: "kb" });
    await ctx.retriever.ingest("kb", {
      documents: [
        { text: "Sourdough bread needs a starter, flour, water and salt.", source: "bread.md", title: "Bread" },
        { text: "Jupiter is the largest planet; its moons include Europa.", source: "space.txt", title: "Planets" },
        { text: "Tomatoes and basil grow well together in a sunny garden.", source: "garden.txt" },
        { text: "TypeScript generics keep functions reusable and typed.", source: "ts.md", title: "Generics" },
      ],
    });
    return ctx;
  }

  it("fuses FTS and vector ranks: score = Σ 1/(60 + rank), with citations", async () => {
    const { retriever } = await corpus();
    const { results, mode, collection_id } = await retriever.query("kb", { query: "planet Jupiter moons", top_k: 4 });
    expect(mode).toBe("hybrid");
    expect(collection_id).toBe(retriever.getCollection("kb").id);
    expect(results[0]).toMatchObject({
      text: "Jupiter is the largest planet; its moons include Europa.",
      fts_rank: 1,
      vector_rank: 1,
      citation: { source: "space.txt", title: "Planets", chunk_index: 0, start: 0, end: 56 },
    });
    for (const r of results) {
      const expected = (r.fts_rank ? 1 / (60 + r.fts_rank) : 0) + (r.vector_rank ? 1 / (60 + r.vector_rank) : 0);
      expect(r.score).toBeCloseTo(expected, 12);
      expect(r.score).toBeLessThanOrEqual(2 / 61);
    }
    expect(results[0].score).toBeCloseTo(2 / 61, 12);
    expect(results.map((r) => r.score)).toEqual([...results.map((r) => r.score)].sort((a, b) => b - a));
  });

  it("reports each mode's own score and filters by min_score and min_similarity", async () => {
    const { retriever } = await corpus();
    const fts = await retriever.query("kb", { query: "garden basil", mode: "fts" });
    expect(fts.results).toHaveLength(1);
    expect(fts.results[0].score).toBe(fts.results[0].fts_score);
    expect(fts.results[0].score).toBeGreaterThan(0);
    expect(fts.results[0].vector_rank).toBeUndefined();

    const vector = await retriever.query("kb", { query: "garden basil", mode: "vector", top_k: 10 });
    expect(vector.results).toHaveLength(4);
    expect(vector.results[0].citation.source).toBe("garden.txt");
    expect(vector.results[0].score).toBe(vector.results[0].vector_similarity);
    expect(vector.results[0].fts_rank).toBeUndefined();
    const threshold = vector.results[0].score;
    const filtered = await retriever.query("kb", { query: "garden basil", mode: "vector", min_similarity: threshold });
    expect(filtered.results.map((r) => r.citation.source)).toEqual(["garden.txt"]);

    // Only a chunk first in both rankings reaches 2/61; a one-sided match tops out at 1/61.
    const strict = await retriever.query("kb", { query: "garden basil", min_score: 1 / 61 + 1e-9, top_k: 10 });
    expect(strict.results.map((r) => r.citation.source)).toEqual(["garden.txt"]);
    expect(strict.results[0].fts_rank).toBe(1);
    expect(strict.results[0].vector_rank).toBe(1);
    const none = await retriever.query("kb", { query: "garden basil", min_score: 0.033 });
    expect(none.results).toEqual([]);
  });

  it("returns heading paths in markdown citations and respects top_k", async () => {
    const { retriever } = setup();
    retriever.createCollection({ name: "md", chunking: { max_chars: 200, overlap_chars: 0 } });
    const text = "# Kitchen\n\n## Knives\n\nA chef's knife needs honing weekly.\n\n## Pans\n\nCast iron pans need seasoning with oil.\n";
    await retriever.ingest("md", { documents: [{ text, source: "kitchen.md" }] });
    const { results } = await retriever.query("md", { query: "cast iron seasoning", top_k: 1 });
    expect(results).toHaveLength(1);
    expect(results[0].citation).toMatchObject({ source: "kitchen.md", heading: "Kitchen > Pans" });
    expect(text.slice(results[0].citation.start, results[0].citation.end)).toBe(results[0].text);
  });

  it("returns nothing from an empty collection without calling the model", async () => {
    const { retriever, calls } = setup();
    retriever.createCollection({ name: "empty" });
    expect((await retriever.query("empty", { query: "anything" })).results).toEqual([]);
    expect(calls).toEqual([]);
  });
});
