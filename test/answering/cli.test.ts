import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAICompatibleServer, type OpenAICompatibleServer } from '../helpers/openaiServer.js';
import { runPapercord } from '../support/cli.js';

const BYTE_QUESTION = 'how do byte-level models avoid very long sequences?';

let dataDir: string;
let server: OpenAICompatibleServer;

function papercord(args: string[], env: Record<string, string> = {}) {
  return runPapercord(args, { DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env });
}

/**
 * A budget a busy machine cannot miss when the model answers; the hanging-server test shortens it, since there the
 * timeout is the subject and nothing else races it.
 */
function openaiEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: server.baseURL,
    LLM_MODEL: 'test-model',
    LLM_TIMEOUT_MS: '30000',
    ...overrides,
  };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-cli-answering-'));
  server = await startOpenAICompatibleServer();
  const ingest = await papercord(['ingest']);
  expect(ingest.code).toBe(0);
});
afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('papercord ask', () => {
  it('given two --paper options, it should answer from those two papers only, citing nothing else', async () => {
    const { code, stdout } = await papercord([
      'ask',
      BYTE_QUESTION,
      '--paper',
      'MrT5',
      '--paper',
      'Zero-Shot Tokenizer Transfer',
      '--json',
    ]);

    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { citations: Array<{ title: string }>; abstained: boolean };
    expect(answer.abstained).toBe(false);
    expect(answer.citations.length).toBeGreaterThan(0);
    const cited = new Set(answer.citations.map((citation) => citation.title));
    for (const title of cited) expect(title).toMatch(/^(MrT5|Zero-Shot Tokenizer Transfer)/);
  });

  it('given six --paper options, it should refuse with the limit and exit 2', async () => {
    const { code, stderr } = await papercord(['ask', 'why?', ...Array(6).fill(['--paper', 'MrT5']).flat()]);

    expect(code).toBe(2);
    expect(stderr).toMatch(/^papercord: --paper can be given at most 5 times \(got 6\)/);
  });

  it('given no LLM, it should print the documented JSON, citing byte-level papers with every [n] resolving', async () => {
    const { code, stdout } = await papercord(['ask', BYTE_QUESTION, '--json']);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as {
      answer: string;
      citations: { n: number; id: string; title: string; url: string | null }[];
      confidence: string;
      abstained: boolean;
      model: string;
      missing: string[];
    };
    expect(Object.keys(answer)).toEqual(['answer', 'citations', 'confidence', 'abstained', 'model', 'missing']);
    expect(answer.missing).toEqual([]);
    // Issue 13: citations name the section and page cited; both null for an answer from abstracts.
    expect(Object.keys(answer.citations[0]!)).toEqual(['n', 'id', 'title', 'url', 'section', 'page']);
    expect(answer.citations[0]).toMatchObject({ section: null, page: null });
    expect(answer).toMatchObject({ confidence: 'high', abstained: false, model: 'extractive' });
    expect(answer.citations.map((citation) => citation.title).join(' | ')).toMatch(
      /MrT5|Hierarchical Autoregressive|Dynamic Chunking/,
    );
    const cited = [...answer.answer.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1]));
    expect(cited.length).toBeGreaterThan(0);
    for (const n of cited) expect(answer.citations.map((citation) => citation.n)).toContain(n);
  });

  it('given a question the library cannot answer, it should abstain with no sources', async () => {
    const { code, stdout } = await papercord(['ask', 'best recipe for sourdough bread', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      answer: 'I found nothing in the library about “best recipe for sourdough bread”.',
      citations: [],
      confidence: 'none',
      abstained: true,
      model: 'extractive',
      missing: expect.arrayContaining(['sourdough bread']),
    });
  });

  it('given a question only loosely matched, it should print confidence low and an answer that says so', async () => {
    const question =
      'is there a paper where the search engine is just one big model that memorized the whole doc collection in its weights?';
    const { code, stdout } = await papercord(['ask', question, '--json']);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as {
      answer: string;
      confidence: string;
      abstained: boolean;
      citations: { title: string }[];
    };
    expect(answer).toMatchObject({ confidence: 'low', abstained: false });
    expect(answer.answer).toMatch(/^No paper in the library mentions .+\. The closest papers.* are \[1\]/);
    expect(answer.citations[0]!.title).toMatch(/^DynamicRetriever/);
  });

  it('given a model that cites [9] of five sources, it should print an answer without [9]', async () => {
    server.script({ kind: 'text', content: 'MrT5 deletes byte tokens in its encoder [1]; H-Net chunks bytes [9].' });
    const { code, stdout } = await papercord(['ask', BYTE_QUESTION, '--json'], openaiEnv());
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { answer: string; citations: { n: number }[]; model: string };
    expect(answer.answer).not.toContain('[9]');
    expect(answer.citations.map((citation) => citation.n)).toEqual([1]);
    expect(answer.model).toBe('openai/test-model');
  });

  it.each([
    ['hangs', { kind: 'hang' } as const, '500'],
    ['fails with 500', { kind: 'status', status: 500 } as const, '30000'],
  ])(
    'given a model server that %s, it should still answer, extractively, with one line saying so',
    async (_, reply, timeoutMs) => {
      server.script(reply);
      const { code, stdout, stderr } = await papercord(
        ['ask', BYTE_QUESTION],
        openaiEnv({ LLM_TIMEOUT_MS: timeoutMs }),
      );
      expect(code).toBe(0);
      expect(stdout).toContain('note: The language model was unavailable, so this answer is extractive.');
      expect(stdout).toMatch(/\[1\]/);
      expect(stdout).toMatch(/Sources\n {2}\[1\] /);
      expect(`${stdout}${stderr}`).not.toMatch(/\n\s+at /);
    },
  );
});

describe('papercord compare', () => {
  it('given MrT5 and Dynamic Chunking, it should fill every field for both papers in the JSON', async () => {
    const { code, stdout } = await papercord(['compare', 'MrT5', 'Dynamic Chunking', '--json']);
    expect(code).toBe(0);
    const comparison = JSON.parse(stdout) as {
      papers: Record<string, string>[];
      similarities: string[];
      differences: string[];
      whenToUse: string;
      model: string;
    };
    expect(comparison.papers.map((paper) => paper.title)).toEqual([
      'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models',
      'Dynamic Chunking for End-to-End Hierarchical Sequence Modeling',
    ]);
    for (const paper of comparison.papers) {
      for (const field of ['id', 'title', 'problem', 'method', 'data', 'results', 'limitations']) {
        expect(paper[field]?.trim()).toBeTruthy();
      }
    }
    expect(comparison.similarities.length).toBeGreaterThan(0);
    expect(comparison.differences.length).toBeGreaterThan(0);
    expect(comparison.whenToUse).toBeTruthy();
    expect(Object.keys(comparison)).toEqual(['papers', 'similarities', 'differences', 'whenToUse', 'model']);
    for (const paper of comparison.papers) {
      expect(Object.keys(paper)).toEqual(['id', 'title', 'url', 'problem', 'method', 'data', 'results', 'limitations']);
      expect(paper.url).toBeNull();
    }
  });

  it('given a model server that fails, it should print the documented JSON on stdout and the notice on stderr', async () => {
    server.script({ kind: 'status', status: 500 });
    const { code, stdout, stderr } = await papercord(['compare', 'MrT5', 'Dynamic Chunking', '--json'], openaiEnv());
    expect(code).toBe(0);
    const comparison = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(comparison)).toEqual(['papers', 'similarities', 'differences', 'whenToUse', 'model']);
    expect(comparison.model).toBe('extractive');
    expect(stderr).toContain('The language model was unavailable, so this comparison is extractive.');
  });

  it('given no --json, it should print each paper then similarities, differences and when to use which', async () => {
    const { code, stdout } = await papercord(['compare', 'MrT5', 'Dynamic Chunking']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\[1\] MrT5: .*\n(.*\n)* {4}Method: {6}\S/);
    expect(stdout).toMatch(/\nSimilarities\n {2}- .*\n\nDifferences\n {2}- (.*\n)*\nWhen to use which\n {2}\S/);
  });

  it('given a name matching no paper, it should exit 1 with one line naming it', async () => {
    const { code, stdout, stderr } = await papercord(['compare', 'MrT5', 'sourdough starters']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^papercord: .*sourdough starters/);
  });

  it('given one paper, it should exit 2 with usage', async () => {
    const { code, stderr } = await papercord(['compare', 'MrT5']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/compare needs 2 to 4 papers \(got 1\)[\s\S]*usage: papercord compare/);
  });

  it('given five papers, it should exit 2 with usage, as for one', async () => {
    const { code, stderr } = await papercord(['compare', 'MrT5', 'H-Net', 'TDPO', 'T-REG', 'Dynamic Chunking']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/compare needs 2 to 4 papers \(got 5\)[\s\S]*usage: papercord compare/);
  });
});

describe('papercord ask on a question whose key concepts the library lacks', () => {
  it('given "federated learning with differential privacy for llm finetuning", it should print low, both concepts in missing, and an answer that says so first', async () => {
    const { code, stdout } = await papercord([
      'ask',
      'federated learning with differential privacy for llm finetuning',
      '--json',
    ]);
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { answer: string; confidence: string; missing: string[] };
    expect(answer.confidence).toBe('low');
    expect(answer.missing).toEqual(['federated learning', 'differential privacy']);
    expect(answer.answer).toMatch(/^No paper in the library mentions federated learning or differential privacy\./);
  });
});
