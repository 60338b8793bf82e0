/** A (seq, score) pair of a ranking: higher scores first. */
export interface ScoredSeq {
  seq: number;
  score: number;
}

/**
 * The k best (seq, score) pairs offered, in a bounded min-heap of typed arrays (the worst kept at the root: lower
 * score, then higher seq), so that tens of thousands of matches cost a comparison each, not an object each.
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly seqs: Int32Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.scores = new Float64Array(k);
    this.seqs = new Int32Array(k);
  }

  offer(seq: number, score: number): void {
    const { scores, seqs, k } = this;
    if (this.size < k) {
      let index = this.size++;
      while (index > 0) {
        const parent = (index - 1) >> 1;
        if (!worse(score, seq, scores[parent]!, seqs[parent]!)) break;
        scores[index] = scores[parent]!;
        seqs[index] = seqs[parent]!;
        index = parent;
      }
      scores[index] = score;
      seqs[index] = seq;
      return;
    }
    if (!worse(scores[0]!, seqs[0]!, score, seq)) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= k) break;
      const right = left + 1;
      const child = right < k && worse(scores[right]!, seqs[right]!, scores[left]!, seqs[left]!) ? right : left;
      if (!worse(scores[child]!, seqs[child]!, score, seq)) break;
      scores[index] = scores[child]!;
      seqs[index] = seqs[child]!;
      index = child;
    }
    scores[index] = score;
    seqs[index] = seq;
  }

  /** The k-th best score (the lowest kept); -Infinity until k were offered. */
  threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0]!;
  }

  /** Best first; equal scores by seq. */
  sorted(): ScoredSeq[] {
    const hits: ScoredSeq[] = [];
    for (let index = 0; index < this.size; index++) hits.push({ seq: this.seqs[index]!, score: this.scores[index]! });
    return hits.sort((left, right) => right.score - left.score || left.seq - right.seq);
  }
}

/** Whether (scoreA, seqA) ranks below (scoreB, seqB). */
function worse(scoreA: number, seqA: number, scoreB: number, seqB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && seqA > seqB);
}
