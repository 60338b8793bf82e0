import { OutputParserException } from '@langchain/core/output_parsers';
import type { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { ZodError } from 'zod';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { FullTextDocument } from '../fulltext/document.js';
import { BODY_CELLS_NOTICE, BODY_FACETS, bodyCell, bodyFacets } from '../fulltext/compareBody.js';
import { verifyCitations } from './citations.js';
import { comparisonSchema, modelComparisonSchema, type Comparison, type ModelComparison } from './comparison.js';
import { EXTRACTIVE_MODEL } from './answers.js';
import { extractiveComparison } from './extractiveComparison.js';
import { deadline, type ChatBackend } from './llm.js';
import { comparePromptValues } from './prompts.js';

export const COMPARISON_UNAVAILABLE_NOTICE = 'The language model was unavailable, so this comparison is extractive.';
export const MIN_COMPARED = 2;
export const MAX_COMPARED = 4;

/** The model's output did not match the comparison schema: worth one more try, unlike a timeout or a 500. */
class MalformedComparisonError extends Error {
  override readonly name = 'MalformedComparisonError';
}

export interface CompareContext {
  /** `null`: compare extractively. */
  backend: ChatBackend | null;
  prompt: ChatPromptTemplate;
  timeoutMs: number;
  logger: Logger;
  /** A paper's stored full text, when it has one. */
  document: (paperId: string) => FullTextDocument | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * A side-by-side comparison by the model, checked against the schema and tied to the papers by id (one more try when
 * the output is malformed); extractive when there is no model or it fails.
 */
export async function comparePapers(papers: Paper[], context: CompareContext): Promise<Comparison> {
  // With every paper's full text stored, the data, results and limitations come from their bodies.
  const documents = papers.map((paper) => context.document(paper.id));
  const bodies = documents.every((document) => document !== undefined)
    ? documents.map((document) => bodyFacets(document!))
    : undefined;
  const extractiveWithBody = (): Omit<Comparison, 'model'> => {
    const comparison = extractiveComparison(papers);
    if (!bodies) return comparison;
    let used = false;
    const withBody = comparison.papers.map((entry, index) => {
      const cells: Partial<Record<(typeof BODY_FACETS)[number], string>> = {};
      for (const facet of BODY_FACETS) {
        const statement = bodies[index]![facet];
        if (statement) {
          cells[facet] = bodyCell(statement);
          used = true;
        }
      }
      return { ...entry, ...cells };
    });
    return used ? { ...comparison, papers: withBody, notice: BODY_CELLS_NOTICE } : comparison;
  };
  if (!context.backend) return { ...extractiveWithBody(), model: EXTRACTIVE_MODEL };
  const backend = context.backend;
  const chain = RunnableSequence.from([
    RunnableLambda.from((input: Paper[]) => comparePromptValues(input, bodies)),
    context.prompt,
    backend.model.withStructuredOutput(modelComparisonSchema, { name: 'paper_comparison' }),
  ]);

  for (let attempt = 1; attempt <= 2; attempt += 1) {
    try {
      const output = await chain.invoke(papers, { signal: deadline(context.timeoutMs, context.signal) });
      const tied = { ...tieToPapers(output, papers), model: backend.label };
      const fromBody = tied.papers.some((entry) =>
        BODY_FACETS.some((facet) => /\(from (§|p\. )[^)]+\)\s*$/.test(entry[facet])),
      );
      return fromBody ? { ...tied, notice: BODY_CELLS_NOTICE } : tied;
    } catch (error) {
      if (context.signal?.aborted) throw error;
      const malformed = isMalformedOutput(error);
      context.logger.warn({ err: describeError(error), attempt, model: backend.label }, 'LLM comparison failed');
      if (!malformed) break;
    }
  }
  const fallback = extractiveWithBody();
  return {
    ...fallback,
    model: EXTRACTIVE_MODEL,
    notice: [COMPARISON_UNAVAILABLE_NOTICE, fallback.notice].filter(Boolean).join(' '),
  };
}

/** The papers `names` name, checked: between MIN_COMPARED and MAX_COMPARED of them, none twice. */
export async function resolveComparedPapers(
  names: string[],
  resolvePaper: (nameOrId: string) => Paper | Promise<Paper>,
): Promise<Paper[]> {
  const wanted = names.map((name) => name.trim()).filter(Boolean);
  if (wanted.length < MIN_COMPARED || wanted.length > MAX_COMPARED) {
    throw new UserError(`Name ${MIN_COMPARED} to ${MAX_COMPARED} papers to compare (got ${wanted.length}).`);
  }
  const papers: Paper[] = [];
  for (const name of wanted) papers.push(await resolvePaper(name));
  papers.forEach((paper, index) => {
    const earlier = papers.findIndex((other) => other.id === paper.id);
    if (earlier < index) {
      // Discord autocomplete sends ids, which mean nothing to the person who picked the titles.
      const named = [wanted[earlier], wanted[index]].every((name) => name === paper.id)
        ? ''
        : ` ("${wanted[earlier]}" and "${wanted[index]}")`;
      throw new UserError(
        `The same paper is named twice${named}: ${paper.title}. Pick ${MIN_COMPARED} to ${MAX_COMPARED} different papers.`,
      );
    }
  });
  return papers;
}

/** Matches each entry the model wrote to the paper whose id it names, so no statement lands under the wrong paper. */
function tieToPapers(output: ModelComparison, papers: Paper[]): Omit<Comparison, 'model'> {
  const entries = papers.map((paper) => {
    const entry = output.papers.find((candidate) => candidate.id.trim() === paper.id);
    if (!entry) throw new MalformedComparisonError(`the model's comparison has no entry for paper ${paper.id}`);
    return { ...entry, id: paper.id, title: paper.title, ...(paper.url ? { url: paper.url } : {}) };
  });
  if (output.papers.length !== papers.length) {
    throw new MalformedComparisonError(`the model compared ${output.papers.length} papers, expected ${papers.length}`);
  }
  const cite = (text: string) => verifyCitations(text, papers.length).text;
  const checked = {
    papers: entries,
    similarities: output.similarities.map(cite).filter(Boolean),
    differences: output.differences.map(cite).filter(Boolean),
    whenToUse: cite(output.whenToUse),
  };
  const parsed = comparisonSchema.omit({ model: true }).safeParse(checked);
  if (!parsed.success)
    throw new MalformedComparisonError(`the model's comparison is incomplete: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

function isMalformedOutput(error: unknown): boolean {
  return (
    error instanceof MalformedComparisonError ||
    error instanceof OutputParserException ||
    error instanceof ZodError ||
    error instanceof SyntaxError
  );
}
