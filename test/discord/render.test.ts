import { describe, expect, it } from 'vitest';
import type { Answer, Comparison } from '../../src/answering/answerService.js';
import { embedLength, renderAnswer, renderComparison, renderPaperList } from '../../src/discord/render.js';
import { renderIntakeReply } from '../../src/discord/paperIntake.js';
import { formatDigestEmbed } from '../../src/trending/format.js';
import { messageBodyProblems } from '../../src/emulator/payloads.js';

/** Discord's own checks, as the emulator applies them, on every message a rendering produces. */
function problemsOf(messages: ReturnType<typeof renderAnswer>) {
  return messages.flatMap((embeds) => messageBodyProblems({ embeds: embeds as unknown as Record<string, unknown>[] }));
}

const sentence = (n: number) =>
  `Byte-level models shorten sequences by merging tokens in stage ${n} of the encoder [${(n % 3) + 1}]. `;

describe('rendering within Discord limits', () => {
  it('given a 12,000-character answer, it should split it across embeds and messages Discord accepts, keeping every word', () => {
    const text = Array.from({ length: 150 }, (_, index) => sentence(index)).join('');
    const answer: Answer = {
      answer: text,
      citations: [1, 2, 3].map((n) => ({
        n,
        id: `t:${n}`,
        title: `Paper ${n}`,
        url: `https://arxiv.org/abs/2401.0000${n}`,
      })),
      confidence: 'high',
      abstained: false,
      model: 'openai/test-model',
    };

    const messages = renderAnswer('How do byte-level models stay short?', answer);

    expect(text.length).toBeGreaterThan(12_000);
    expect(messages.length).toBeGreaterThan(1);
    expect(problemsOf(messages)).toEqual([]);
    const shown = messages
      .flat()
      .map((embed) => embed.description ?? '')
      .join(' ');
    expect(shown.replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' ').trim());
    const last = messages.at(-1)!.at(-1)!;
    expect(last.fields?.[0]?.value).toContain('**[3]** [Paper 3](https://arxiv.org/abs/2401.00003)');
    expect(last.footer?.text).toBe('Model: openai/test-model');
  });

  it('given 60 citations with long titles, it should keep sources in at most 25 fields of at most 1,024 characters', () => {
    const answer: Answer = {
      answer: 'Short answer [1].',
      citations: Array.from({ length: 60 }, (_, index) => ({
        n: index + 1,
        id: `t:${index}`,
        title: 'A very long title '.repeat(20),
        url: `https://example.org/${index}`,
      })),
      confidence: 'high',
      abstained: false,
      model: 'extractive',
    };

    const messages = renderAnswer('q', answer);

    expect(problemsOf(messages)).toEqual([]);
    expect(messages.flat().every((embed) => (embed.fields ?? []).length <= 25)).toBe(true);
  });

  it('given four papers with long facets, it should render them side by side in one message Discord accepts', () => {
    const long = 'This aspect is described at great length. '.repeat(60);
    const comparison: Comparison = {
      papers: [1, 2, 3, 4].map((n) => ({
        id: `t:${n}`,
        title: `Paper ${n} `.repeat(30),
        url: `https://arxiv.org/abs/${n}`,
        problem: long,
        method: long,
        data: long,
        results: long,
        limitations: long,
      })),
      similarities: [long, long],
      differences: [long],
      whenToUse: long,
      model: 'extractive',
    };

    const messages = renderComparison(comparison);

    expect(problemsOf(messages)).toEqual([]);
    const fields = messages[0]![0]!.fields ?? [];
    expect(fields.filter((field) => field.inline)).toHaveLength(20);
    expect(fields.map((field) => field.name)).toContain('Results · 4');
    expect(embedLength(messages[0]![0]!)).toBeLessThanOrEqual(6000);
  });

  it('given a title with square brackets, it should keep the link intact', () => {
    const embed = renderPaperList(
      'Papers',
      [
        {
          paper: { id: 't:1', title: 'On [MASK] tokens', abstract: 'x', source: 'test', url: 'https://e.org/1' },
          score: 1,
        },
      ],
      'none',
    );
    expect(embed.description).toContain('[On MASK tokens](https://e.org/1)');
  });
});

describe('paper links in Markdown', () => {
  it('given titles that try to inject a link of their own, every reply should link the paper once, with the title as text', () => {
    const title = 'Evil](https://evil.example) [click\\';
    const papers = Array.from({ length: 9 }, (_, index) => ({
      id: `t:${index}`,
      title: index === 0 ? title : `Paper ${index}`,
      abstract: 'x',
      source: 'pdf:upload.pdf',
    }));
    const intake = renderIntakeReply(
      papers.map((paper) => ({
        input: 'upload.pdf',
        id: paper.id,
        title: paper.title,
        status: 'added',
        message: null,
        paper,
      })),
    );
    const list = renderPaperList('Papers', [{ paper: papers[0]!, score: 1 }], 'none');

    for (const text of [intake.embeds[0]!.description!, list.description!]) {
      expect(text).not.toContain('](https://evil.example)');
      expect(text).toContain('[Evil(https://evil.example) click](https://arxiv.org/search/');
    }
  });

  // The playground's parser and many Markdown renderers end a link's URL at its first ")".
  const MARKDOWN_LINK = /\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/;

  it('given a paper without a URL whose title has parentheses, it should link to a search for the whole title', () => {
    const title = 'Retrofitting (Large) Language Models with Dynamic Tokenization';
    const embed = renderPaperList(
      'Papers',
      [{ paper: { id: 't:1', title, abstract: 'x', source: 'seeds' }, score: 1 }],
      'none',
    );
    const [, text, url] = MARKDOWN_LINK.exec(embed.description ?? '') ?? [];
    expect(text).toBe(title);
    expect(new URL(url!).searchParams.get('query')).toBe(title);
  });

  it('given a trending paper whose title has parentheses and an apostrophe, the digest should link to the whole title', () => {
    const title = "Let's Predict (Sentence by Sentence)";
    const embed = formatDigestEmbed(
      {
        date: '2025-07-29',
        papers: [{ id: 't:2', title, upvotes: 3, url: null, tldr: 'A TL;DR.', authors: [] }],
        themes: [],
      },
      'footer',
    );
    const [, , url] = MARKDOWN_LINK.exec(embed.description) ?? [];
    expect(new URL(url!).searchParams.get('query')).toBe(title);
  });
});
