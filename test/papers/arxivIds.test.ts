import { describe, expect, it } from 'vitest';
import { findArxivIdInText, findArxivLinks, parseArxivReference } from '../../src/papers/arxivIds.js';

describe('parseArxivReference', () => {
  it.each([
    ['2410.20771', '2410.20771'],
    ['2410.20771v2', '2410.20771'],
    ['arXiv:2410.20771', '2410.20771'],
    ['ARXIV: 2410.20771v3', '2410.20771'],
    ['0704.0001', '0704.0001'],
    ['cs/0601001', 'cs/0601001'],
    ['math.gt/0309136v1', 'math.GT/0309136'],
    ['hep-th/9901001', 'hep-th/9901001'],
    ['https://arxiv.org/abs/2410.20771', '2410.20771'],
    ['https://arxiv.org/abs/2410.20771v2', '2410.20771'],
    ['http://www.arxiv.org/abs/cs/0601001v1', 'cs/0601001'],
    ['https://arxiv.org/pdf/2410.20771', '2410.20771'],
    ['https://arxiv.org/pdf/2410.20771v1.pdf', '2410.20771'],
    ['https://arxiv.org/html/2410.20771v2', '2410.20771'],
    ['https://arxiv.org/html/2410.20771v2/', '2410.20771'],
    ['arxiv.org/abs/2410.20771?context=cs', '2410.20771'],
    ['https://export.arxiv.org/abs/2410.20771', '2410.20771'],
    ['https://huggingface.co/papers/2410.20771', '2410.20771'],
    ['https://huggingface.co/papers/2410.20771#community', '2410.20771'],
    ['https://doi.org/10.48550/arXiv.2410.20771', '2410.20771'],
    ['10.48550/arXiv.2410.20771', '2410.20771'],
    ['<https://arxiv.org/abs/2410.20771>', '2410.20771'],
  ])('given %s, it should name arXiv paper %s', (input, expected) => {
    expect(parseArxivReference(input)).toBe(expected);
  });

  it.each(['hello', '2410.207', 'https://example.com/abs/2410.20771', 'https://doi.org/10.1000/xyz123', '12410.20771'])(
    'given %s, it should name no paper',
    (input) => {
      expect(parseArxivReference(input)).toBeUndefined();
    },
  );
});

describe('findArxivLinks', () => {
  it('given a chat message with links, an arXiv: id and a bare number, it should find the linked papers once each, in order', () => {
    const text =
      'look at https://arxiv.org/abs/2410.20771v2 and <https://huggingface.co/papers/2507.10524>! also arXiv:cs/0601001, ' +
      'the pdf https://arxiv.org/pdf/2410.20771 again; version 2401.12345 of the tool is out';

    expect(findArxivLinks(text)).toEqual(['2410.20771', '2507.10524', 'cs/0601001']);
  });
});

describe('findArxivIdInText', () => {
  it('given the margin stamp arXiv prints on its PDFs, it should find the id', () => {
    expect(findArxivIdInText('arXiv:2410.20771v2  [cs.CL]  1 Nov 2024')).toBe('2410.20771');
  });
});
