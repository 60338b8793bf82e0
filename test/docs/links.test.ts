import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  describeBrokenLinks,
  filesInMemory,
  filesOnDisk,
  findBrokenLinks,
  findMissingPaths,
  headingAnchors,
} from './markdownLinks.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function documentationFiles(): string[] {
  const docs = readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file.split(path.sep).join('/')}`);
  return ['README.md', 'CHANGELOG.md', ...docs.sort()];
}

describe('links in the documentation', () => {
  it('given README.md, CHANGELOG.md and docs/, it should find every relative link and #anchor resolving', () => {
    const files = documentationFiles();
    expect(files).toContain('docs/configuration.md');
    const broken = findBrokenLinks(files, filesOnDisk(root));
    expect(describeBrokenLinks(broken)).toBe('');
  });

  it('given the pages in docs/, it should find each linked from the README, so none is out of reach', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const unlinked = documentationFiles()
      .filter((file) => file.startsWith('docs/'))
      .filter((file) => !readme.includes(`](${file})`) && !readme.includes(`](${file}#`));
    expect(unlinked, 'pages of docs/ the README does not link to').toEqual([]);
  });

  it('given the paths of files the documentation names in code spans, it should find every one in the repository', () => {
    const missing = findMissingPaths(documentationFiles(), filesOnDisk(root));
    expect(describeBrokenLinks(missing)).toBe('');
  });

  it('given a code span naming a file that moved away, it should report it, and leave placeholders and other code alone', () => {
    const files = filesInMemory({
      'docs/a.md':
        'See `src/config.ts`, `src/gone.ts`, `bench/data/`, `vectors-<seq>.hnsw`, `src/{id}.ts` and `npm test`.',
      'src/config.ts': '',
      'bench/data/x.jsonl': '',
    });
    expect(findMissingPaths(['docs/a.md'], files).map((link) => link.href)).toEqual(['src/gone.ts']);
  });

  it('given a link to a missing file or a missing heading, it should report each, naming the file and the link', () => {
    const files = filesInMemory({
      'README.md': [
        '# Guide',
        'See [deploy](docs/deploy.md), [nowhere](docs/nowhere.md), [the setup](docs/deploy.md#set-up),',
        '[a typo](docs/deploy.md#setup) and [here](#guide) and [gone](#missing).',
        '',
        '| page | |',
        '|---|---|',
        '| [in a table](docs/missing-from-table.md) | |',
        '',
        '`[in code](not-a-link.md)`',
      ].join('\n'),
      'docs/deploy.md': '# Deploy\n\n## Set up\n\nBack to [the README](../README.md#guide).\n',
    });
    const broken = findBrokenLinks(['README.md', 'docs/deploy.md'], files);
    expect(broken.map((link) => link.href)).toEqual([
      'docs/nowhere.md',
      'docs/deploy.md#setup',
      '#missing',
      'docs/missing-from-table.md',
    ]);
    expect(describeBrokenLinks(broken)).toContain('README.md: (docs/deploy.md#setup) docs/deploy.md has no heading');
  });

  it('given a link that leaves the repository or is absolute, it should report it', () => {
    const files = filesInMemory({ 'docs/a.md': '[up](../../x.md) [abs](/docs/a.md) [web](https://example.com/#x)' });
    expect(findBrokenLinks(['docs/a.md'], files).map((link) => link.href)).toEqual(['../../x.md', '/docs/a.md']);
  });

  it('given headings, it should spell their anchors as GitHub does (punctuation dropped, repeats numbered)', () => {
    const anchors = headingAnchors(
      [
        '# Full text: answers cited down to the section',
        '## Calibrating DENSE_WEIGHT and MIN_DENSE_SIMILARITY on your own questions',
        '## `--json` shapes',
        '### Added',
        '### Added',
        '### Added',
        '## Several processes, one library: PostgreSQL',
        '## Q&amp;A *with* [a link](x.md)',
      ].join('\n\n'),
    );
    expect([...anchors]).toEqual([
      'full-text-answers-cited-down-to-the-section',
      'calibrating-dense_weight-and-min_dense_similarity-on-your-own-questions',
      '--json-shapes',
      'added',
      'added-1',
      'added-2',
      'several-processes-one-library-postgresql',
      'qa-with-a-link',
    ]);
  });
});
