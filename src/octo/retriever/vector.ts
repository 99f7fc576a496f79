/**
 * Embedding vectors as stored (unit-length Float32 BLOBs) and the exact, brute-force cosine search
 * over them. Vectors are normalized once at ingest, so a query's cosine similarity with each chunk is
 * one dot product. See vector-index.ts for where the vectors are scanned from, and README.md for
 * measured times.
 */

/** A unit-length copy of `vector` (a zero vector stays zero: it is similar to nothing). */
export function normalize(vector: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(vector);
  let sumSquares = 0;
  for (let i = 0; i < out.length; i++) sumSquares += out[i] * out[i];
  const norm = Math.sqrt(sumSquares);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i] /= norm;
  return out;
}

export function toBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A view of a stored vector (copied only when the BLOB's bytes are not 4-byte aligned). */
export function fromBlob(blob: Uint8Array): Float32Array {
  if (blob.byteLength % 4 !== 0) throw new Error(`embedding BLOB of ${blob.byteLength} bytes is not Float32 data`);
  if (blob.byteOffset % 4 === 0) return new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
  return new Float32Array(Uint8Array.from(blob).buffer);
}

export interface Scored<Id> {
  id: Id;
  similarity: number;
}

/**
 * The best `limit` of the offered items, best first, ties by offer order; items below minSimilarity
 * are refused. Holds only the current top, so a scan's memory is O(limit) however many rows it sees.
 */
class TopK<Id> {
  readonly items: Array<Scored<Id>> = [];
  constructor(
    private readonly limit: number,
    private readonly minSimilarity: number,
  ) {}

  /** The score an item must beat to get in (so callers can skip work). */
  get threshold(): number {
    return this.items.length < this.limit ? this.minSimilarity : this.items[this.items.length - 1].similarity;
  }

  offer(id: Id, similarity: number): void {
    if (this.limit <= 0 || similarity < this.minSimilarity) return;
    const items = this.items;
    if (items.length === this.limit && similarity <= items[items.length - 1].similarity) return;
    // Insertion into a short sorted array: limit is small (≈50), so this beats a heap in practice.
    let at = items.length;
    while (at > 0 && items[at - 1].similarity < similarity) at--;
    items.splice(at, 0, { id, similarity });
    if (items.length > this.limit) items.pop();
  }
}

/**
 * query · data[offset … offset + query.length). Both scans use this one function, so they agree to the
 * last bit. Four independent sums let the CPU overlap the multiply-adds (≈1.5× faster at 768 dims).
 */
function dot(query: Float32Array, data: Float32Array, offset: number): number {
  const dims = query.length;
  const unrolled = dims - (dims % 4);
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = 0;
  for (; i < unrolled; i += 4) {
    a += query[i] * data[offset + i];
    b += query[i + 1] * data[offset + i + 1];
    c += query[i + 2] * data[offset + i + 2];
    d += query[i + 3] * data[offset + i + 3];
  }
  for (; i < dims; i++) a += query[i] * data[offset + i];
  return a + b + c + d;
}

/** Top `limit` rows of (id, vector BLOB) by similarity to `query`, both unit length. */
export function topBySimilarity<Id>(
  query: Float32Array,
  rows: Iterable<readonly [Id, Uint8Array]>,
  limit: number,
  minSimilarity = -Infinity,
): Array<Scored<Id>> {
  const top = new TopK<Id>(limit, minSimilarity);
  if (limit <= 0) return top.items;
  const dims = query.length;
  for (const [id, blob] of rows) {
    const vector = fromBlob(blob);
    if (vector.length !== dims) throw new Error(`stored embedding has ${vector.length} dimensions, expected ${dims}`);
    top.offer(id, dot(query, vector, 0));
  }
  return top.items;
}

/** Vectors packed row after row in one Float32Array: the layout a scan runs fastest over. */
export interface VectorMatrix {
  ids: Float64Array;
  dims: number;
  data: Float32Array;
}

/** Top `limit` rows of a packed matrix by similarity to `query` (unit length, matrix.dims long). */
export function topBySimilarityInMatrix(
  query: Float32Array,
  matrix: VectorMatrix,
  limit: number,
  minSimilarity = -Infinity,
): Array<Scored<number>> {
  const { ids, dims, data } = matrix;
  if (query.length !== dims) throw new Error(`query has ${query.length} dimensions, the matrix ${dims}`);
  const top = new TopK<number>(limit, minSimilarity);
  if (limit <= 0) return top.items;
  for (let row = 0, offset = 0; row < ids.length; row++, offset += dims) {
    const similarity = dot(query, data, offset);
    if (similarity >= top.threshold) top.offer(ids[row], similarity);
  }
  return top.items;
}
