// End to end on a small real corpus: the real FTS5 index and real embeddings from a real (tiny) model.
// stories260K is a 260K-parameter story model, so its embeddings carry little meaning: these tests
// assert what such vectors honestly support (a chunk's own text finds that chunk), and lean on FTS
// for topical matches.
import Database from "better-sqlite3";
import { getLlama, type Llama, type LlamaEmbeddingContext, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRetriever, type Retriever } from "../../src/octo/retriever/retriever.js";
import { testModelPath } from "../support/models.js";

const CORPUS: Array<{ source: string; title: string; text: string }> = [
  { source: "cooking/sourdough.txt", title: "Sourdough", text: "A sourdough starter is flour and water fermented by wild yeast. Feed it daily and bake when it doubles." },
  { source: "cooking/risotto.txt", title: "Risotto", text: "Risotto wants arborio rice, warm stock added a ladle at a time, and patient stirring until creamy." },
  { source: "astronomy/nebula.txt", title: "Nebulae", text: "A nebula is a cloud of gas and dust where new stars are born, glowing from the radiation of young stars." },
  { source: "astronomy/jupiter.txt", title: "Jupiter", text: "Jupiter is a gas giant with a Great Red Spot, a storm larger than Earth that has raged for centuries." },
  { source: "typescript/generics.txt", title: "Generics", text: "TypeScript generics let a function accept a type parameter, so one implementation stays type-safe for many types." },
  { source: "typescript/narrowing.txt", title: "Narrowing", text: "Narrowing in TypeScript refines a union type with typeof checks, discriminant properties or user-defined guards." },
  { source: "gardening/tomatoes.txt", title: "Tomatoes", text: "Tomato seedlings need full sun, deep watering, and a stake or cage once the vines start to sprawl." },
  { source: "gardening/compost.txt", title: "Compost", text: "Compost mixes green kitchen scraps with brown leaves; turning the pile adds oxygen for the microbes." },
  { source: "music/guitar.txt", title: "Guitar", text: "Tuning a guitar to standard pitch means strings E A D G B E, from the thickest to the thinnest." },
  { source: "music/metronome.txt", title: "Metronome", text: "Practising with a metronome builds steady tempo; start slow and raise the beats per minute gradually." },
  { source: "history/pyramids.txt", title: "Pyramids", text: "The pyramids of Giza were built as royal tombs for pharaohs of Egypt's Old Kingdom." },
  { source: "history/printing.txt", title: "Printing press", text: "Gutenberg's printing press with movable type spread books across Europe in the fifteenth century." },
  { source: "fitness/running.txt", title: "Running", text: "Marathon training alternates long slow runs with interval sessions and rest days to avoid injury." },
  { source: "fitness/yoga.txt", title: "Yoga", text: "Yoga combines breathing, balance and stretching poses such as downward dog and warrior." },
  { source: "finance/budget.txt", title: "Budgeting", text: "A household budget tracks income against expenses; an emergency fund covers three to six months." },
  { source: "finance/interest.txt", title: "Compound interest", text: "Compound interest earns interest on interest, so savings grow exponentially over long periods." },
  { source: "birds/owls.txt", title: "Owls", text: "Owls hunt at night with silent feathers and can turn their heads about two hundred seventy degrees." },
  { source: "weather/hurricanes.txt", title: "Hurricanes", text: "Hurricanes form over warm ocean water; the calm eye is surrounded by the violent eyewall." },
  { source: "chemistry/water.txt", title: "Water", text: "A water molecule is two hydrogen atoms bonded to one oxygen atom, H2O, with a bent shape." },
  {
    source: "docs/lmx-guide.md",
    title: "LMX guide",
    text: [
      "# LMX guide",
      "",
      "LMX serves local language models over an OpenAI-compatible API.",
      "",
      "## Installation",
      "",
      "Install the package with npm and start the server with the serve subcommand.",
      "The first start creates a configuration file in your home directory.",
      "",
      "## Collections",
      "",
      "Knowledge collections hold your documents. Ingest text, markdown or code,",
      "then query them with hybrid search that fuses BM25 keywords and embedding similarity.",
      "",
    ].join("\n"),
  },
];

let llama: Llama;
let model: LlamaModel;
let context: LlamaEmbeddingContext;
let db: Database.Database;
let retriever: Retriever;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, maxThreads: 1 });
  model = await llama.loadModel({ modelPath: testModelPath("stories260K") });
  context = await model.createEmbeddingContext({ threads: 1, contextSize: 512 });
  const embed = async (texts: string[], signal: AbortSignal) => {
    const vectors: number[][] = [];
    for (const text of texts) {
      signal.throwIfAborted();
      vectors.push([...(await context.getEmbeddingFor(text)).vector]);
    }
    return vectors;
  };
  db = new Database(":memory:");
  retriever = createRetriever({ db, embed, embeddingModel: "stories260K", embedBatchSize: 8 });
  // stories260K's 512-token vocabulary spends about one token per 1.4 characters: 400 characters fit its 512-token context.
  retriever.createCollection({ name: "corpus", chunking: { max_chars: 400, overlap_chars: 60 } });
  await retriever.ingest("corpus", { documents: CORPUS });
});

afterAll(async () => {
  db?.close();
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
});

describe("retriever on a real corpus with real embeddings", () => {
  it("ingested every document, with the model's dimensions, and deduplicates a re-ingest", async () => {
    expect(retriever.getCollection("corpus")).toMatchObject({
      documents: CORPUS.length,
      dimensions: model.embeddingVectorSize,
      embedding_model: "stories260K",
    });
    expect(retriever.getCollection("corpus").chunks).toBeGreaterThan(CORPUS.length);
    const again = await retriever.ingest("corpus", { documents: CORPUS.slice(0, 3) });
    expect(again.documents.every((d) => d.deduplicated)).toBe(true);
    expect(retriever.getCollection("corpus").documents).toBe(CORPUS.length);
  });

  it("FTS finds exact keyword matches in the right document", async () => {
    for (const [query, source] of [
      ["sourdough", "cooking/sourdough.txt"],
      ["nebula", "astronomy/nebula.txt"],
      ["Gutenberg", "history/printing.txt"],
      ["metronome tempo", "music/metronome.txt"],
      ["arborio", "cooking/risotto.txt"],
      ["eyewall", "weather/hurricanes.txt"],
    ]) {
      const { results } = await retriever.query("corpus", { query, mode: "fts" });
      expect(results.length, query).toBeGreaterThan(0);
      expect(results[0].citation.source, query).toBe(source);
      expect(results[0].fts_rank).toBe(1);
    }
    expect((await retriever.query("corpus", { query: "xylophone", mode: "fts" })).results).toEqual([]);
  });

  it("hybrid search puts the only document holding a distinctive keyword first, with a citation into its text", async () => {
    // With one FTS match, that chunk scores 1/61 + 1/(60 + its vector rank), more than the 1/61 a chunk
    // found only by the vector side can reach: the keyword wins however noisy the embeddings are.
    for (const [query, source] of [
      ["sourdough", "cooking/sourdough.txt"],
      ["Gutenberg", "history/printing.txt"],
      ["pharaohs?", "history/pyramids.txt"],
      ["eyewall", "weather/hurricanes.txt"],
      ["generics", "typescript/generics.txt"],
    ] as const) {
      const { results } = await retriever.query("corpus", { query, top_k: 5 });
      expect(results.length, query).toBeGreaterThan(1);
      expect(results[0].citation.source, query).toBe(source);
      expect(results[0].fts_rank, query).toBe(1);
      expect(results[0].score).toBeGreaterThan(1 / 61);
      const doc = CORPUS.find((d) => d.source === source)!;
      expect(results[0].citation.title).toBe(doc.title);
      expect(doc.text.slice(results[0].citation.start, results[0].citation.end)).toBe(results[0].text);
      for (const r of results.slice(1)) {
        expect(r.fts_rank).toBeUndefined();
        expect(r.score).toBeLessThanOrEqual(1 / 61);
      }
    }
  });

  it("hybrid search keeps the best keyword match near the top of natural-language questions", async () => {
    // Several chunks share words like "the" or "TypeScript" here, so the tiny model's noisy vector
    // ranking can reorder close FTS candidates: assert the top three, not the first place.
    for (const [query, source] of [
      ["How do I keep a sourdough starter alive?", "cooking/sourdough.txt"],
      ["the Great Red Spot storm", "astronomy/jupiter.txt"],
      ["TypeScript generics type parameter", "typescript/generics.txt"],
      ["compost pile microbes", "gardening/compost.txt"],
    ] as const) {
      const { results } = await retriever.query("corpus", { query, top_k: 5 });
      const hit = results.slice(0, 3).find((r) => r.citation.source === source);
      expect(hit, query).toBeDefined();
      expect(hit!.fts_rank, query).toBe(1);
      for (const r of results) {
        expect(r.score).toBeGreaterThan(0);
        expect(r.score).toBeLessThanOrEqual(2 / 61 + 1e-12);
        expect(r.fts_rank !== undefined || r.vector_rank !== undefined).toBe(true);
      }
    }
  });

  it("markdown chunks cite their heading path", async () => {
    const { results } = await retriever.query("corpus", { query: "configuration file home directory", mode: "fts", top_k: 1 });
    expect(results[0].citation).toMatchObject({ source: "docs/lmx-guide.md", heading: "LMX guide > Installation" });
    const hybrid = await retriever.query("corpus", { query: "BM25 keywords embedding similarity" });
    expect(hybrid.results[0].citation).toMatchObject({ source: "docs/lmx-guide.md", heading: "LMX guide > Collections" });
  });

  it("vector search returns a chunk first when queried with that chunk's exact text", async () => {
    for (const doc of [CORPUS[0], CORPUS[8], CORPUS[17]]) {
      const { results } = await retriever.query("corpus", { query: doc.text, mode: "vector", top_k: 3 });
      expect(results[0].citation.source, doc.source).toBe(doc.source);
      expect(results[0].text).toBe(doc.text);
      expect(results[0].vector_similarity!).toBeGreaterThan(0.999);
      expect(results[0].vector_rank).toBe(1);
    }
  });

  it("is deterministic, honours min_similarity, and stops on abort", async () => {
    const a = await retriever.query("corpus", { query: "owls hunting at night", top_k: 5 });
    const b = await retriever.query("corpus", { query: "owls hunting at night", top_k: 5 });
    expect(b).toEqual(a);
    const self = CORPUS[16].text;
    const strict = await retriever.query("corpus", { query: self, mode: "vector", min_similarity: 0.999, top_k: 10 });
    expect(strict.results.map((r) => r.citation.source)).toEqual(["birds/owls.txt"]);
    const controller = new AbortController();
    controller.abort();
    await expect(retriever.query("corpus", { query: "owls" }, controller.signal)).rejects.toThrow();
  });
});
