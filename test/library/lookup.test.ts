import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { resolvePaper, suggestPapers } from '../../src/library/lookup.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { countingEmbedder, temporaryDirectory } from './support.js';

let library: PaperLibrary;
let dataDir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  dataDir = await temporaryDirectory('papercord-lookup-');
  library = await PaperLibrary.open({ dataDir: dataDir.path, embedder: countingEmbedder(), logger: silentLogger() });
  await library.add(await loadPapersFromSource('seeds'));
});
afterAll(async () => {
  await library.close();
  await dataDir.remove();
});

function thrown(action: () => unknown): UserError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('suggestPapers', () => {
  it.each([
    ['MrT5', /^MrT5: Dynamic Token Merging/],
    ['H-Net', /^Dynamic Chunking for End-to-End Hierarchical Sequence Modeling$/],
    ['TDPO', /^Token-level Direct Preference Optimization$/],
    ['Mixture-of-Rec', /^Mixture-of-Recursions/],
    ['zero shot tok', /^Zero-Shot Tokenizer Transfer$/],
    ['tokenizer tra', /^Zero-Shot Tokenizer Transfer$/],
    ['sentense by sentense', /^Let's Predict Sentence by Sentence$/],
  ])('given "%s" typed, it should suggest the paper it names first', (typed, title) => {
    expect(suggestPapers(library, typed)[0]?.title).toMatch(title);
  });

  it('given a common word, it should offer several candidates within the limit, best first', () => {
    const suggestions = suggestPapers(library, 'tokenizer', 5);

    expect(suggestions).toHaveLength(5);
    expect(suggestions.every((paper) => /tokeniz/i.test(`${paper.title} ${paper.abstract}`))).toBe(true);
  });

  it('given nothing typed yet, it should offer papers up to the Discord limit of 25', () => {
    expect(suggestPapers(library, '')).toHaveLength(25);
  });
});

describe('resolvePaper', () => {
  it('given an id, an exact title in other case, or a short name, it should return that paper', () => {
    const recursions = library.all().find((paper) => paper.title.startsWith('Mixture-of-Recursions'))!;

    expect(resolvePaper(library, recursions.id)).toEqual(recursions);
    expect(resolvePaper(library, recursions.title.toLowerCase())).toEqual(recursions);
    expect(resolvePaper(library, 'Mixture-of-Recursions')).toEqual(recursions);
    expect(resolvePaper(library, 'MrT5').title).toMatch(/^MrT5/);
  });

  it('given a name several papers share, it should refuse and list the closest titles', () => {
    const error = thrown(() => resolvePaper(library, 'SEED'));

    expect(error.message).toMatch(/^"SEED" matches several papers; did you mean one of: /);
    expect(error.message).toContain('"Planting a SEED of Vision in Large Language Model"');
    expect(error.message).toContain('"Making LLaMA SEE and Draw with SEED Tokenizer"');
  });

  it('given a name that shares only some words with titles, it should say nothing matches (not "several") and offer the closest', () => {
    const message = thrown(() => resolvePaper(library, 'nothing-matches-this')).message;

    expect(message).toMatch(/^no paper in the library matches "nothing-matches-this"; the closest titles: "/);
    expect(message).not.toMatch(/several/);
  });

  it('given a name nothing matches, it should say so', () => {
    expect(thrown(() => resolvePaper(library, 'xyzzy quux')).message).toBe(
      'no paper in the library matches "xyzzy quux"',
    );
  });
});
