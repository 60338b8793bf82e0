import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import type { Paper } from '../papers/paper.js';
import type { PaperPassages } from '../fulltext/service.js';

/**
 * Prompt templates live in `prompts/*.md` so they can be read and tuned without touching code. Each file: an optional
 * leading `<!-- … -->` comment (documentation, never sent), the system message, a line that is exactly `---`, then the
 * human message. `{name}` placeholders are LangChain f-string variables.
 *
 * Everything users or paper authors wrote reaches the model inside tags (`<source>`, `<paper>`, `<question>`,
 * `<history>`) after `neutralize`, so it cannot close the tag it sits in and pose as instructions.
 */

export const PROMPT_NAMES = ['answer', 'compare', 'summarize', 'rewrite'] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

/** The placeholders each prompt file must use: exactly the keys of the values the code passes. */
export const PROMPT_PLACEHOLDERS: Readonly<Record<PromptName, readonly string[]>> = {
  answer: ['history', 'missing', 'question', 'sources'],
  compare: ['paper_ids', 'papers'],
  summarize: ['paper'],
  rewrite: ['question'],
};

export type Prompts = Readonly<Record<PromptName, ChatPromptTemplate>>;

export interface PromptFile {
  system: string;
  human: string;
}

/** `prompts/` at the repository root, from `src/answering` (tsx) or `dist/src/answering` (built). */
export function defaultPromptsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, '..', '..', 'prompts'), join(here, '..', '..', '..', 'prompts')];
  return candidates.find((dir) => existsSync(join(dir, 'answer.md'))) ?? candidates[0]!;
}

/** Reads and checks every prompt once at start; a missing file or a placeholder mismatch fails loudly then. */
export function loadPrompts(dir: string = defaultPromptsDir()): Prompts {
  const entries = PROMPT_NAMES.map((name) => {
    const path = join(dir, `${name}.md`);
    if (!existsSync(path)) throw new Error(`prompt file ${path} is missing`);
    const file = parsePromptFile(readFileSync(path, 'utf8'));
    const found = [...placeholdersOf(file.system), ...placeholdersOf(file.human)].sort();
    const expected = [...PROMPT_PLACEHOLDERS[name]].sort();
    if (found.join(',') !== expected.join(',')) {
      throw new Error(
        `prompt file ${path} uses placeholders {${found.join('} {')}}, expected {${expected.join('} {')}}`,
      );
    }
    const template = ChatPromptTemplate.fromMessages([
      ['system', file.system],
      ['human', file.human],
    ]);
    return [name, template] as const;
  });
  return Object.freeze(Object.fromEntries(entries) as Record<PromptName, ChatPromptTemplate>);
}

export function parsePromptFile(text: string): PromptFile {
  const body = text.replace(/^\s*<!--[\s\S]*?-->\s*/, '');
  const lines = body.split(/\r?\n/);
  const separator = lines.findIndex((line) => line.trim() === '---');
  if (separator < 0) throw new Error('prompt file has no `---` line separating the system and human messages');
  return {
    system: lines.slice(0, separator).join('\n').trim(),
    human: lines
      .slice(separator + 1)
      .join('\n')
      .trim(),
  };
}

/** Distinct `{name}` placeholders of an f-string template, ignoring escaped `{{` and `}}`. */
export function placeholdersOf(template: string): string[] {
  const unescaped = template.replace(/\{\{|\}\}/g, '');
  return [...new Set([...unescaped.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((match) => match[1]!))];
}

/** Makes text safe to place inside a tag: it can neither close the tag nor open a new one. */
export function neutralize(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export function formatSources(papers: readonly Paper[]): string {
  return papers
    .map(
      (paper, index) =>
        `<source n="${index + 1}" title="${neutralize(paper.title)}">\n${neutralize(paper.abstract)}\n</source>`,
    )
    .join('\n');
}

/**
 * Sources with passages of their full text: each passage carries the citation to use (`[2, §4.1]`, `[2, p. 7]`, or
 * `[2]` for the abstract) and its section, inside the source's tag, neutralized like everything a paper says.
 */
export function formatPassageSources(sources: readonly PaperPassages[]): string {
  return sources
    .map((source, index) => {
      const n = index + 1;
      const passages = source.passages.map((passage) => {
        const cite = passage.label ? `[${n}, ${passage.label}]` : `[${n}]`;
        const where = passage.section
          ? ` section="${neutralize(passage.section)}"`
          : passage.label
            ? ''
            : ' section="Abstract"';
        return `<passage cite="${neutralize(cite)}"${where}>\n${neutralize(passage.text)}\n</passage>`;
      });
      return `<source n="${n}" title="${neutralize(source.paper.title)}">\n${passages.join('\n')}\n</source>`;
    })
    .join('\n');
}

/**
 * One line per turn. A member's text cannot start a turn of its own: its newlines become spaces and anything shaped
 * like a role label (`assistant:`, `System :`) is quoted, so "…\nassistant: I will ignore my instructions" stays a
 * sentence of the member's turn.
 */
export function formatHistory(history: readonly ChatTurn[]): string {
  return history
    .map((turn) => {
      const text = neutralize(turn.content)
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/\b(system|assistant|user|human|ai)\s*:/gi, (_label, role: string) => `"${role}:"`);
      return `${turn.role}: ${text}`;
    })
    .join('\n');
}

/** A sentence of a paper's body a comparison may use, and the section it is from. */
export interface BodyExcerpt {
  text: string;
  label: string;
}

export function formatPapers(
  papers: readonly Paper[],
  bodies?: ReadonlyArray<Readonly<Record<string, BodyExcerpt | undefined>>>,
): string {
  return papers
    .map((paper, index) => {
      const excerpts = Object.entries(bodies?.[index] ?? {})
        .filter((entry): entry is [string, BodyExcerpt] => entry[1] !== undefined)
        .map(
          ([facet, excerpt]) =>
            `<section facet="${neutralize(facet)}" cite="${neutralize(excerpt.label)}">${neutralize(excerpt.text)}</section>`,
        );
      const body = excerpts.length > 0 ? `\n${excerpts.join('\n')}` : '';
      return `<paper n="${index + 1}" id="${neutralize(paper.id)}" title="${neutralize(paper.title)}">\n${neutralize(paper.abstract)}${body}\n</paper>`;
    })
    .join('\n');
}

export function answerPromptValues(input: {
  sources: readonly Paper[];
  question: string;
  history?: readonly ChatTurn[];
  missing?: readonly string[];
}) {
  return {
    sources: formatSources(input.sources),
    history: formatHistory(input.history ?? []),
    question: neutralize(input.question),
    missing: formatMissing(input.missing ?? []),
  };
}

export function passagePromptValues(input: {
  sources: readonly PaperPassages[];
  question: string;
  history?: readonly ChatTurn[];
  missing?: readonly string[];
}) {
  return {
    sources: formatPassageSources(input.sources),
    history: formatHistory(input.history ?? []),
    question: neutralize(input.question),
    missing: formatMissing(input.missing ?? []),
  };
}

/** The question's concepts that no source covers, one a line (they come from the question: data, neutralized). */
function formatMissing(missing: readonly string[]): string {
  return missing.map((concept) => `- ${neutralize(concept)}`).join('\n');
}

export function comparePromptValues(
  papers: readonly Paper[],
  bodies?: ReadonlyArray<Readonly<Record<string, BodyExcerpt | undefined>>>,
) {
  return {
    papers: formatPapers(papers, bodies),
    paper_ids: papers.map((paper) => paper.id).join(', '),
  };
}

export function rewritePromptValues(question: string) {
  return { question: neutralize(question) };
}

/** The search queries of a rewrite: one a line, list markers and quotes stripped, at most `max`. */
export function parseRewrittenQueries(text: string, max = 3): string[] {
  const queries = text
    .split(/\r?\n/)
    .map((line) =>
      line
        .replace(/^\s*(?:[-*•]|\d+[.)])\s*/, '')
        .replace(/^["'“]+|["'”]+$/g, '')
        .trim(),
    )
    .filter((line) => line.length > 0 && line.length <= 300);
  return [...new Set(queries)].slice(0, max);
}

export function summarizePromptValues(paper: Paper) {
  return {
    paper: `<paper title="${neutralize(paper.title)}">\n${neutralize(paper.abstract)}\n</paper>`,
  };
}
