/**
 * Where vector queries run: an exact scan of a collection's vectors, from an in-memory copy packed
 * into one Float32Array when the collection fits the cache budget, else streamed from SQLite.
 * Reading 10k rows through SQLite costs several times the dot products themselves (README.md has
 * the numbers), so the packed copy is what makes brute force fast; the collection's generation
 * counter, bumped by every write, tells when a copy is stale, also across processes sharing the file.
 *
 * This is the seam for an approximate index (HNSW, IVF): when collections grow to millions of
 * chunks, `search` would consult one kept beside the packed copy, keyed by the same generation.
 */
import type { RetrieverStore } from "./store.js";
import { fromBlob, topBySimilarity, topBySimilarityInMatrix, type Scored, type VectorMatrix } from "./vector.js";

export interface VectorIndexOptions {
  /** Bytes of packed vectors kept in memory across collections (least recently used evicted). 0 disables. */
  maxCacheBytes: number;
}

export interface VectorIndex {
  /** Chunk ids of the collection most similar to `query` (unit length), best first. */
  search(collectionId: string, query: Float32Array, limit: number, minSimilarity?: number): Array<Scored<number>>;
  forget(collectionId: string): void;
}

interface Cached {
  generation: number;
  matrix: VectorMatrix;
  bytes: number;
}

export function createVectorIndex(store: RetrieverStore, options: VectorIndexOptions): VectorIndex {
  // Map order is the LRU order: a hit re-inserts its entry at the end.
  const cache = new Map<string, Cached>();
  let cachedBytes = 0;

  function forget(collectionId: string): void {
    const entry = cache.get(collectionId);
    if (!entry) return;
    cache.delete(collectionId);
    cachedBytes -= entry.bytes;
  }

  /** Loads the collection packed, with the generation it reflects, from one consistent snapshot. */
  function load(collectionId: string, dims: number): Cached | undefined {
    return store.readTransaction(() => {
      const generation = store.generation(collectionId);
      if (generation === undefined) return undefined;
      const count = store.embeddingCount(collectionId);
      const ids = new Float64Array(count);
      const data = new Float32Array(count * dims);
      let row = 0;
      for (const [id, blob] of store.embeddings(collectionId)) {
        const vector = fromBlob(blob);
        if (vector.length !== dims) throw new Error(`stored embedding has ${vector.length} dimensions, expected ${dims}`);
        ids[row] = id;
        data.set(vector, row * dims);
        row++;
      }
      return { generation, matrix: { ids, dims, data }, bytes: data.byteLength + ids.byteLength };
    });
  }

  return {
    forget,
    search(collectionId, query, limit, minSimilarity = -Infinity) {
      const generation = store.generation(collectionId);
      if (generation === undefined) {
        forget(collectionId);
        return [];
      }
      let entry = cache.get(collectionId);
      if (entry && (entry.generation !== generation || entry.matrix.dims !== query.length)) {
        forget(collectionId);
        entry = undefined;
      }
      if (!entry) {
        const bytes = store.embeddingCount(collectionId) * (query.length * 4 + 8);
        if (bytes > options.maxCacheBytes) {
          return topBySimilarity(query, store.embeddings(collectionId), limit, minSimilarity);
        }
        entry = load(collectionId, query.length);
        if (!entry) return [];
        cachedBytes += entry.bytes;
      } else {
        cache.delete(collectionId);
      }
      cache.set(collectionId, entry);
      for (const [id, old] of cache) {
        if (cachedBytes <= options.maxCacheBytes || id === collectionId) break;
        cache.delete(id);
        cachedBytes -= old.bytes;
      }
      return topBySimilarityInMatrix(query, entry.matrix, limit, minSimilarity);
    },
  };
}
