/**
 * Reciprocal rank fusion (Cormack, Clarke & Büttcher, 2009): each ranked list gives an item
 * 1 / (k + rank), ranks starting at 1, and an item's fused score is the sum over the lists that hold it.
 * It needs no score calibration between BM25 and cosine similarity, which live on unrelated scales;
 * k = 60 is the paper's constant and damps the weight of the very top ranks.
 *
 * With two lists the fused score lies in (0, 2 / (k + 1)]: 2/61 ≈ 0.0328 for an item ranked first in
 * both, 1/61 ≈ 0.0164 for an item ranked first in only one.
 */

export const RRF_K = 60;

export interface FusedItem<Id> {
  id: Id;
  score: number;
  /** The item's 1-based rank in each input list, undefined where the list does not hold it. */
  ranks: Array<number | undefined>;
}

/**
 * Fuses ranked lists of ids (best first; an id should appear at most once per list, later repeats
 * are ignored). Sorted by fused score, ties broken by the best single rank, then by first appearance,
 * so the order is deterministic.
 */
export function reciprocalRankFusion<Id>(lists: ReadonlyArray<ReadonlyArray<Id>>, k = RRF_K): Array<FusedItem<Id>> {
  const fused = new Map<Id, FusedItem<Id> & { order: number }>();
  lists.forEach((list, listIndex) => {
    list.forEach((id, position) => {
      let item = fused.get(id);
      if (!item) {
        item = { id, score: 0, ranks: lists.map(() => undefined), order: fused.size };
        fused.set(id, item);
      }
      if (item.ranks[listIndex] !== undefined) return;
      const rank = position + 1;
      item.ranks[listIndex] = rank;
      item.score += 1 / (k + rank);
    });
  });
  const bestRank = (item: FusedItem<Id>) => Math.min(...item.ranks.map((r) => r ?? Infinity));
  return [...fused.values()]
    .sort((a, b) => b.score - a.score || bestRank(a) - bestRank(b) || a.order - b.order)
    .map(({ id, score, ranks }) => ({ id, score, ranks }));
}
