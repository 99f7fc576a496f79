import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { toFtsMatchExpression, MAX_QUERY_TERMS } from "../../src/octo/retriever/fts-query.js";
import { reciprocalRankFusion, RRF_K } from "../../src/octo/retriever/fusion.js";
import { createRetriever } from "../../src/octo/retriever/retriever.js";
import { normalize, toBlob, topBySimilarity, topBySimilarityInMatrix } from "../../src/octo/retriever/vector.js";

const HOSTILE_QUERIES = [
  '"',
  '""',
  '"unbalanced quote',
  "it's",
  "AND",
  "OR",
  "NOT",
  "NEAR",
  "NEAR(garden bread, 2)",
  "garden AND NOT bread",
  "garden OR",
  "* prefix*",
  "*",
  "text:garden",
  "heading : x",
  "{text heading}: garden",
  "(garden",
  "garden)",
  "((()))",
  "^garden",
  "+garden -bread",
  "-",
  "a\u0000b",
  "\u0301",
  "日本語のテキスト",
  "café naïve",
  "🙂🙂🙂",
  "👩‍🚀 astronaut",
  "null; DROP TABLE retriever_chunks; --",
  "garden\nbread\ttab",
  "x".repeat(5000),
  Array.from({ length: 500 }, (_, i) => `w${i}`).join(" "),
];

describe("toFtsMatchExpression", () => {
  it("quotes each term and ORs them", () => {
    expect(toFtsMatchExpression("How do I bake bread?")).toBe('"How" OR "do" OR "I" OR "bake" OR "bread"');
    expect(toFtsMatchExpression('NOT (x) AND "y" NEAR z*')).toBe('"NOT" OR "x" OR "AND" OR "y" OR "NEAR" OR "z"');
    expect(toFtsMatchExpression("text:garden")).toBe('"text" OR "garden"');
    expect(toFtsMatchExpression("café 日本語")).toBe('"café" OR "日本語"');
  });

  it("returns null when there is no letter or digit to search for", () => {
    for (const q of ["", "   ", "?!.,;:", '"', "*", "()", "\u0301", "🙂"]) expect(toFtsMatchExpression(q)).toBeNull();
  });

  it("drops repeated terms (case-insensitively) and caps the term count", () => {
    expect(toFtsMatchExpression("Bread bread BREAD")).toBe('"Bread"');
    const many = toFtsMatchExpression(Array.from({ length: 500 }, (_, i) => `w${i}`).join(" "));
    expect(many?.split(" OR ")).toHaveLength(MAX_QUERY_TERMS);
  });
});

describe("FTS queries from hostile user text", () => {
  const dbs: Database.Database[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
  });

  it("never raise an FTS syntax error, and punctuation-only queries return nothing", async () => {
    const db = new Database(":memory:");
    dbs.push(db);
    // fts mode never embeds a query, but ingest does: a bag-of-letters vector is enough here.
    const embed = async (texts: string[]) => texts.map((t) => Array.from({ length: 8 }, (_, i) => (t.charCodeAt(i % t.length) % 7) + 1));
    const retriever = createRetriever({ db, embed, embeddingModel: "test" });
    retriever.createCollection({ name: "hostile" });
    await retriever.ingest("hostile", {
      documents: [
        { text: "The garden needs water. NOT every plant AND weed is welcome.", source: "garden.txt" },
        { text: "Bread needs flour, water, salt and time. NEAR the oven it rises.", source: "bread.txt" },
        { text: "日本語のテキストと café naïve words. 👩‍🚀 astronaut text:colon", source: "unicode.txt" },
      ],
    });
    for (const query of HOSTILE_QUERIES) {
      const response = await retriever.query("hostile", { query, mode: "fts", top_k: 10 }).catch((err: Error) => err);
      if (query.trim() === "") {
        expect(response, JSON.stringify(query)).toBeInstanceOf(Error);
        continue;
      }
      expect(response, JSON.stringify(query)).not.toBeInstanceOf(Error);
      if (toFtsMatchExpression(query) === null && !(response instanceof Error)) expect(response.results).toEqual([]);
    }
    // Operators are searched as words, not obeyed.
    const not = await retriever.query("hostile", { query: "NOT", mode: "fts" });
    expect(not.results.map((r) => r.citation.source)).toEqual(["garden.txt"]);
    const near = await retriever.query("hostile", { query: "NEAR(oven", mode: "fts" });
    expect(near.results[0].citation.source).toBe("bread.txt");
    // Diacritics and stemming: "cafe" finds "café", "gardening" finds "garden".
    expect((await retriever.query("hostile", { query: "cafe", mode: "fts" })).results[0].citation.source).toBe("unicode.txt");
    expect((await retriever.query("hostile", { query: "gardening", mode: "fts" })).results[0].citation.source).toBe("garden.txt");
  });
});

describe("reciprocalRankFusion", () => {
  it("sums 1/(k + rank) over the lists, by hand", () => {
    const fused = reciprocalRankFusion([
      ["a", "b", "c"],
      ["c", "a", "d"],
    ]);
    const expected = {
      a: 1 / 61 + 1 / 62, // 0.032523
      c: 1 / 63 + 1 / 61, // 0.032266
      b: 1 / 62, // 0.016129
      d: 1 / 63, // 0.015873
    };
    expect(fused.map((f) => f.id)).toEqual(["a", "c", "b", "d"]);
    for (const item of fused) expect(item.score).toBeCloseTo(expected[item.id as keyof typeof expected], 12);
    expect(fused[0].ranks).toEqual([1, 2]);
    expect(fused[2].ranks).toEqual([2, undefined]);
    expect(RRF_K).toBe(60);
  });

  it("tops out at 2/61 for an item first in both lists", () => {
    const [top] = reciprocalRankFusion([["x"], ["x"]]);
    expect(top.score).toBeCloseTo(2 / 61, 12);
    expect(top.score).toBeCloseTo(0.0328, 4);
  });

  it("breaks ties deterministically: best single rank, then first appearance", () => {
    expect(reciprocalRankFusion([["x", "y"], ["y", "x"]]).map((f) => f.id)).toEqual(["x", "y"]);
    expect(reciprocalRankFusion([["p", "q"], []]).map((f) => f.id)).toEqual(["p", "q"]);
    // q: 1/62 + 1/62 ties 2/123 with nothing; p: 1/61 + 1/63 is larger.
    expect(reciprocalRankFusion([["p", "q"], ["r", "q", "p"]]).map((f) => f.id)).toEqual(["p", "q", "r"]);
  });

  it("takes k as a parameter and ignores repeats within a list", () => {
    const fused = reciprocalRankFusion([["a", "a", "b"]], 0);
    expect(fused.map((f) => [f.id, f.score])).toEqual([
      ["a", 1],
      ["b", 1 / 3],
    ]);
  });
});

describe("brute-force vector search", () => {
  function randomUnitVector(next: () => number, dims: number): Float32Array {
    return normalize(Array.from({ length: dims }, () => next() - 0.5));
  }

  it("finds the exact nearest neighbours, best first", () => {
    let seed = 42;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const rows = Array.from({ length: 500 }, (_, i) => [i, toBlob(randomUnitVector(next, 16))] as const);
    const query = randomUnitVector(next, 16);
    const top = topBySimilarity(query, rows, 10);
    const all = rows
      .map(([id, blob]) => {
        const v = new Float32Array(blob.buffer, blob.byteOffset, 16);
        return { id, similarity: v.reduce((sum, x, i) => sum + x * query[i], 0) };
      })
      .sort((a, b) => b.similarity - a.similarity);
    expect(top.map((t) => t.id)).toEqual(all.slice(0, 10).map((a) => a.id));
    expect(topBySimilarity(query, rows, 10, 2)).toEqual([]);
    expect(topBySimilarity(query, rows, 0)).toEqual([]);
  });

  it("scans 10k chunks of 64-dim vectors quickly, cached or streamed from SQLite (times are logged)", async () => {
    const db = new Database(":memory:");
    try {
      // Each text gets a random vector seeded by the text itself, so both retrievers see the same query vector.
      const embed = async (texts: string[]) =>
        texts.map((text) => {
          let seed = [...text].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 2 ** 31, 7);
          return Array.from(randomUnitVector(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31), 64));
        });
      const cached = createRetriever({ db, embed, embeddingModel: "random-64", embedBatchSize: 500 });
      const streamed = createRetriever({ db, embed, embeddingModel: "random-64", vectorCacheBytes: 0 });
      cached.createCollection({ name: "big" });
      const documents = Array.from({ length: 10_000 }, (_, i) => ({ text: `document number ${i}` }));
      for (let at = 0; at < documents.length; at += 1000) {
        await cached.ingest("big", { documents: documents.slice(at, at + 1000) });
      }
      expect(cached.getCollection("big").chunks).toBe(10_000);

      const timePerQuery = async (retriever: typeof cached) => {
        await retriever.query("big", { query: "warm-up", mode: "vector" });
        const runs = 20;
        const started = performance.now();
        for (let i = 0; i < runs; i++) await retriever.query("big", { query: `q${i}`, mode: "vector", top_k: 5 });
        return (performance.now() - started) / runs;
      };
      const cachedMs = await timePerQuery(cached);
      const streamedMs = await timePerQuery(streamed);
      // Same answers either way.
      const a = await cached.query("big", { query: "same", mode: "vector", top_k: 10 });
      const b = await streamed.query("big", { query: "same", mode: "vector", top_k: 10 });
      expect(a.results.length).toBe(10);
      expect(b.results).toEqual(a.results);
      console.info(
        `vector query over 10k × 64-dim chunks: ${cachedMs.toFixed(2)} ms from the packed in-memory copy, ` +
          `${streamedMs.toFixed(2)} ms streamed from SQLite`,
      );
      // Generous bounds for a shared 2-vCPU machine; the numbers worth reading are the logged ones.
      expect(cachedMs).toBeLessThan(200);
      expect(streamedMs).toBeLessThan(1000);

      // A write bumps the generation: the cached copy must see the new chunk.
      const added = await cached.ingest("big", { documents: [{ text: "the newest document" }] });
      const all = await cached.query("big", { query: "x", mode: "vector", top_k: 100, min_similarity: -1 });
      expect(all.results.length).toBe(100);
      const [{ document_id }] = added.documents;
      cached.deleteDocument("big", document_id);
      expect(cached.getCollection("big").chunks).toBe(10_000);
    } finally {
      db.close();
    }
  });

  it("matches between the packed matrix and the streamed scan", () => {
    let seed = 3;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const vectors = Array.from({ length: 300 }, () => randomUnitVector(next, 8));
    const query = randomUnitVector(next, 8);
    const data = new Float32Array(300 * 8);
    vectors.forEach((v, i) => data.set(v, i * 8));
    const ids = Float64Array.from(vectors.map((_, i) => i + 1));
    const fromMatrix = topBySimilarityInMatrix(query, { ids, dims: 8, data }, 20, 0.1);
    const fromRows = topBySimilarity(query, vectors.map((v, i) => [i + 1, toBlob(v)] as const), 20, 0.1);
    expect(fromMatrix).toEqual(fromRows);
    expect(fromMatrix.every((r) => r.similarity >= 0.1)).toBe(true);
  });
});
