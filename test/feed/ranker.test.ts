import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinearFeedRanker } from '../../src/feed/ranker.js';
import type { FeedbackEvent, Follow } from '../../src/feed/types.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { paperId, type Paper } from '../../src/papers/paper.js';
import { countingEmbedder, temporaryDirectory } from '../library/support.js';

function paper(title: string, abstract: string): Paper {
  return { id: paperId({ title }), title, abstract, source: 'test' };
}

const VISION = [
  paper(
    'Vision transformers for image segmentation',
    'A vision transformer segments images with patch attention and a pixel decoder.',
  ),
  paper(
    'Self-supervised image pretraining with masked patches',
    'Masked image modeling pretrains a vision transformer on image patches.',
  ),
  paper('Object detection with image transformers', 'Image transformers detect objects from patch features in images.'),
];
const SPEECH = [
  paper(
    'Speech recognition with transformers at scale',
    'A transformer transcribes speech audio into text with a speech encoder.',
  ),
  paper(
    'Self-supervised speech pretraining from raw audio',
    'Masked prediction on raw speech audio pretrains a speech transformer.',
  ),
  paper(
    'Speech translation with audio transformers',
    'Audio transformers translate speech into text in another language.',
  ),
];
const FOLLOWS: Follow[] = [{ id: 'f', userId: 'u', kind: 'topic', text: 'transformers pretraining', exclude: [] }];

let dataDir: Awaited<ReturnType<typeof temporaryDirectory>>;
let library: PaperLibrary;
let ranker: LinearFeedRanker;

beforeAll(async () => {
  dataDir = await temporaryDirectory('papercord-ranker-');
  library = await PaperLibrary.open({ dataDir: dataDir.path, embedder: countingEmbedder(), logger: silentLogger() });
  await library.add([...VISION, ...SPEECH]);
  ranker = new LinearFeedRanker({ library, embedder: library.embedder });
});

afterAll(async () => {
  await library.close();
  await dataDir.remove();
});

const feedback = (liked: Paper[], disliked: Paper[]): FeedbackEvent[] => [
  ...liked.map((entry) => ({ paperId: entry.id, verdict: 'like' as const })),
  ...disliked.map((entry) => ({ paperId: entry.id, verdict: 'dislike' as const })),
];
const topic = (titles: string[]) =>
  titles.map((title) => (VISION.some((entry) => entry.title === title) ? 'vision' : 'speech'));

describe('LinearFeedRanker', () => {
  it("given likes on one topic and dislikes on another, it should put the liked topic's unseen papers first, and the reverse when the feedback is reversed", async () => {
    const unseen = [SPEECH[2]!, VISION[2]!];
    const likesVision = await ranker.rank(
      { follows: FOLLOWS, feedback: feedback(VISION.slice(0, 2), SPEECH.slice(0, 2)) },
      unseen,
    );
    expect(topic(likesVision.map((ranked) => ranked.paper.title))[0]).toBe('vision');
    const likesSpeech = await ranker.rank(
      { follows: FOLLOWS, feedback: feedback(SPEECH.slice(0, 2), VISION.slice(0, 2)) },
      unseen,
    );
    expect(topic(likesSpeech.map((ranked) => ranked.paper.title))[0]).toBe('speech');
  });

  it('given no feedback, it should order by the follows alone and drop nothing', async () => {
    const ranked = await ranker.rank({ follows: FOLLOWS, feedback: [] }, [...VISION, ...SPEECH]);
    expect(ranked).toHaveLength(6);
    expect(ranked.every((entry) => entry.score > 0 && entry.score < 1)).toBe(true);
  });

  it('given a paper disliked again and again, it should drop it below the line', async () => {
    const disliked = SPEECH[0]!;
    const events = Array.from({ length: 6 }, () => ({ paperId: disliked.id, verdict: 'dislike' as const }));
    const ranked = await ranker.rank({ follows: FOLLOWS, feedback: [...events, ...feedback(VISION.slice(0, 2), [])] }, [
      disliked,
      VISION[2]!,
    ]);
    expect(ranked.map((entry) => entry.paper.id)).toEqual([VISION[2]!.id]);
  });
});
