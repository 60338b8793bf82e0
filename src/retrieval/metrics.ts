/**
 * Ranking metrics as BEIR/trec_eval define them. `ranking` is document ids best first; `judgments` maps relevant
 * ids to graded relevance (> 0); ids absent from `judgments` are not relevant.
 */
export type Judgments = ReadonlyMap<string, number>;

/** nDCG@k with graded gains `2^rel - 1` and log2 discounts, as in trec_eval's ndcg_cut. 0 when nothing is relevant. */
export function ndcgAtK(ranking: readonly string[], judgments: Judgments, k: number): number {
  const gain = (relevance: number) => 2 ** relevance - 1;
  let dcg = 0;
  ranking.slice(0, k).forEach((id, index) => {
    const relevance = judgments.get(id) ?? 0;
    if (relevance > 0) dcg += gain(relevance) / Math.log2(index + 2);
  });
  const ideal = [...judgments.values()]
    .filter((relevance) => relevance > 0)
    .sort((left, right) => right - left)
    .slice(0, k)
    .reduce((sum, relevance, index) => sum + gain(relevance) / Math.log2(index + 2), 0);
  return ideal === 0 ? 0 : dcg / ideal;
}

/** Share of the relevant documents found in the first k. 0 when nothing is relevant. */
export function recallAtK(ranking: readonly string[], judgments: Judgments, k: number): number {
  const relevant = [...judgments].filter(([, relevance]) => relevance > 0).map(([id]) => id);
  if (relevant.length === 0) return 0;
  const top = new Set(ranking.slice(0, k));
  return relevant.filter((id) => top.has(id)).length / relevant.length;
}

/** 1 / rank of the first relevant document within the first k, else 0. */
export function mrrAtK(ranking: readonly string[], judgments: Judgments, k: number): number {
  const index = ranking.slice(0, k).findIndex((id) => (judgments.get(id) ?? 0) > 0);
  return index === -1 ? 0 : 1 / (index + 1);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}
