import { StringOutputParser } from '@langchain/core/output_parsers';
import { OutputParserException } from '@langchain/core/output_parsers';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { ZodError } from 'zod';
import { UserError, describeError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { Document } from '@langchain/core/documents';
import { LibraryRetriever, type PaperDocumentMetadata } from '../retrieval/langchain.js';
import {
  LOW_CONFIDENCE_LEAD,
  type PaperRetriever,
  type RetrievalConfidence,
  type RetrievedPaper,
} from '../retrieval/types.js';
import type { FullTextService, PaperPassages } from '../fulltext/service.js';
import { FULL_TEXT_OFF_NOTE } from '../fulltext/service.js';
import { BODY_CELLS_NOTICE, BODY_FACETS, bodyCell, bodyFacets } from '../fulltext/compareBody.js';
import { verifyCitations, verifySectionCitations } from './citations.js';
import { comparisonSchema, modelComparisonSchema, type Comparison, type ModelComparison } from './comparison.js';
import { extractiveAnswer } from './extractiveAnswer.js';
import { extractiveComparison } from './extractiveComparison.js';
import { keySentence } from './facets.js';
import { createChatBackend, deadline, type ChatBackend, type LlmConfig } from './llm.js';
import {
  answerPromptValues,
  comparePromptValues,
  passagePromptValues,
  loadPrompts,
  parseRewrittenQueries,
  rewritePromptValues,
  summarizePromptValues,
  type ChatTurn,
  type Prompts,
} from './prompts.js';

export type { Comparison } from './comparison.js';
export type { ChatTurn } from './prompts.js';

export interface Citation {
  /** The [n] used in the answer text. */
  n: number;
  id: string;
  title: string;
  url?: string;
  /** The section cited (`4.1 Training setup`), when the answer drew on the paper's full text. */
  section?: string | null;
  /** The PDF page cited, when known. */
  page?: number | null;
}

export interface Answer {
  answer: string;
  /** Only sources the answer cites, each pointing at a paper given to the model. */
  citations: Citation[];
  /** Retrieval's confidence: `low` answers say they are unsure; `none` is an abstention. */
  confidence: RetrievalConfidence;
  /** True exactly when confidence is `none`. */
  abstained: boolean;
  /** `extractive` or `<provider>/<model>`. */
  model: string;
  /** One line for the user when the answer is not what was configured, e.g. the model was unavailable. */
  notice?: string;
}

export interface AskOptions {
  /** Sources retrieved and given to the model. */
  k?: number;
  /** Earlier turns of a conversation (a Discord thread), oldest first. */
  history?: ChatTurn[];
  signal?: AbortSignal;
  /** Receives the growing answer while the model writes it (citations are checked only in the final answer). */
  onPartial?: (text: string) => void;
  /** Answer from this one paper (an id or a title), from its full text when there is one. */
  paper?: string;
}

export interface AnswerServiceOptions {
  retriever: PaperRetriever;
  /** Finds a paper by id or (fuzzy) title; throws a UserError listing the closest titles when it cannot. */
  resolvePaper: (nameOrId: string) => Paper | Promise<Paper>;
  config: LlmConfig;
  logger?: Logger;
  prompts?: Prompts;
  /** Replaces the backend chosen by `config.LLM_PROVIDER`; `null` forces extractive answers. */
  backend?: ChatBackend | null;
  /** Default number of sources per answer. */
  k?: number;
  /** The one paper a question names by its short name, if any: its full text alone then answers. */
  namedPaper?: (question: string) => Paper | undefined | Promise<Paper | undefined>;
  /** Full text of papers: answers draw on the passages of the retrieved papers that best match the question. */
  fullText?: Pick<FullTextService, 'enabled' | 'ensure' | 'passages' | 'timeoutMs' | 'document'>;
}

export const DEFAULT_ANSWER_K = 5;
/** Candidates an extractive answer chooses its sources from, as a multiple of k. */
const EXTRACTIVE_POOL_FACTOR = 2;
export const EXTRACTIVE_MODEL = 'extractive';
export const MODEL_UNAVAILABLE_NOTICE = 'The language model was unavailable, so this answer is extractive.';
export const UNCITED_ANSWER_NOTICE =
  "The language model's answer cited none of the sources, so this answer is extractive.";
export const COMPARISON_UNAVAILABLE_NOTICE = 'The language model was unavailable, so this comparison is extractive.';
export const MIN_COMPARED = 2;
export const MAX_COMPARED = 4;

/** Share of the best passage's score a passage needs to be quoted in an extractive answer. */
const EXTRACTIVE_PASSAGE_SHARE = 0.6;
/** Papers of a question whose full text is fetched on demand when missing (the rest answer from what is stored). */
const ON_DEMAND_PAPERS = 3;
/** Passages given for a question about one paper. */
const PAPER_PASSAGES = 6;

/** Longest question echoed back in an abstention, so a pasted essay does not fill the reply. */
const ECHOED_QUESTION_CHARS = 200;

/** The model's output did not match the comparison schema: worth one more try, unlike a timeout or a 500. */
class MalformedComparisonError extends Error {
  override readonly name = 'MalformedComparisonError';
}

/**
 * Answers questions from the library with checked citations, compares papers and writes TL;DRs, with the configured
 * LLM when there is one and extractively otherwise, or whenever the LLM fails: a question always gets an answer.
 */
export class AnswerService {
  private readonly retriever: PaperRetriever;
  private readonly resolvePaper: (nameOrId: string) => Paper | Promise<Paper>;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly prompts: Prompts;
  private readonly backend: ChatBackend | null;
  private readonly k: number;
  private readonly fullText: AnswerServiceOptions['fullText'];
  private readonly namedPaper: AnswerServiceOptions['namedPaper'];

  constructor(options: AnswerServiceOptions) {
    this.retriever = options.retriever;
    this.resolvePaper = options.resolvePaper;
    this.timeoutMs = options.config.LLM_TIMEOUT_MS;
    this.logger = options.logger ?? silentLogger();
    this.prompts = options.prompts ?? loadPrompts();
    this.backend = options.backend !== undefined ? options.backend : createChatBackend(options.config);
    this.k = options.k ?? DEFAULT_ANSWER_K;
    this.fullText = options.fullText;
    this.namedPaper = options.namedPaper;
  }

  /** `extractive` or `<provider>/<model>`: what writes answers when the model is up. */
  get modelLabel(): string {
    return this.backend?.label ?? EXTRACTIVE_MODEL;
  }

  async ask(question: string, options: AskOptions = {}): Promise<Answer> {
    const trimmed = question.trim();
    if (!trimmed) throw new UserError('Ask a question, e.g. "how do byte-level models avoid very long sequences?"');
    const history = options.history ?? [];
    if (options.paper !== undefined) {
      const paper = await this.resolvePaper(options.paper);
      // With passage options given, an answer always comes back (from the abstract at worst).
      return (await this.askFromPassages(trimmed, [{ paper, score: 1 }], history, options, {
        limit: PAPER_PASSAGES,
        perPaper: PAPER_PASSAGES,
      }))!;
    }
    // "What learning rate did MrT5 use?" is about MrT5's body: only its chunks are searched, when it has full text.
    const named = this.fullText?.enabled ? await this.namedPaper?.(trimmed) : undefined;
    if (
      named &&
      (await this.fullText!.ensure(named, { signal: options.signal, budgetMs: this.fullText!.timeoutMs })).state ===
        'ready'
    ) {
      return (await this.askFromPassages(trimmed, [{ paper: named, score: 1 }], history, options, {
        limit: PAPER_PASSAGES,
        perPaper: PAPER_PASSAGES,
      }))!;
    }
    // With no model, the extractive answer picks its papers by their sentences from a wider pool of candidates.
    const pool = this.backend ? options.k : (options.k ?? this.k) * EXTRACTIVE_POOL_FACTOR;
    const { hits, confidence } = await this.retrieveSources(trimmed, history, { ...options, k: pool });
    if (hits.length === 0) return abstention(trimmed);
    // With full text, the passages of these papers answer; when none of them has any, their abstracts do, as before.
    const fromPassages = this.fullText?.enabled
      ? await this.askFromPassages(trimmed, hits, history, options)
      : undefined;
    const answer = fromPassages ?? (await this.answerFrom(trimmed, hits, history, options));
    return confidence === 'low' ? unsure(answer) : answer;
  }

  private async answerFrom(
    trimmed: string,
    hits: RetrievedPaper[],
    history: ChatTurn[],
    options: AskOptions,
  ): Promise<Answer> {
    const sources = hits.map((hit) => hit.paper);
    // The extractive answer leaves out papers retrieved much worse than the best one.
    const scores = hits.map((hit) => hit.score);
    if (!this.backend) return extractive(trimmed, sources, scores);
    let generated: string;
    try {
      generated = await this.generateAnswer(
        this.backend,
        answerPromptValues({ sources, question: trimmed, history }),
        options,
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.logger.warn(
        { err: describeError(error), model: this.backend.label },
        'LLM answer failed; answering extractively',
      );
      return { ...extractive(trimmed, sources, scores), notice: MODEL_UNAVAILABLE_NOTICE };
    }
    if (!generated) {
      this.logger.warn({ model: this.backend.label }, 'LLM answer was empty; answering extractively');
      return { ...extractive(trimmed, sources, scores), notice: MODEL_UNAVAILABLE_NOTICE };
    }
    const verified = verifyCitations(generated, sources.length);
    if (verified.removed.length > 0) {
      this.logger.warn(
        { removed: verified.removed, sources: sources.length },
        'removed citations of sources the model was not given',
      );
    }
    if (verified.kept.length === 0) {
      this.logger.warn({ model: this.backend.label }, 'LLM answer cited no source; answering extractively');
      return { ...extractive(trimmed, sources, scores), notice: UNCITED_ANSWER_NOTICE };
    }
    return {
      answer: verified.text,
      citations: citationsFor(verified.kept, sources),
      confidence: 'high',
      abstained: false,
      model: this.backend.label,
    };
  }

  async compare(names: string[], options: { signal?: AbortSignal } = {}): Promise<Comparison> {
    const papers = await this.resolveCompared(names);
    // With every paper's full text stored, the data, results and limitations come from their bodies.
    const documents = papers.map((paper) => this.fullText?.document(paper.id));
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
    if (!this.backend) return { ...extractiveWithBody(), model: EXTRACTIVE_MODEL };
    const backend = this.backend;
    const chain = RunnableSequence.from([
      RunnableLambda.from((input: Paper[]) => comparePromptValues(input, bodies)),
      this.prompts.compare,
      backend.model.withStructuredOutput(modelComparisonSchema, { name: 'paper_comparison' }),
    ]);

    for (let attempt = 1; attempt <= 2; attempt += 1) {
      try {
        const output = await chain.invoke(papers, { signal: deadline(this.timeoutMs, options.signal) });
        const tied = { ...tieToPapers(output, papers), model: backend.label };
        const fromBody = tied.papers.some((entry) =>
          BODY_FACETS.some((facet) => /\(from (§|p\. )[^)]+\)\s*$/.test(entry[facet])),
        );
        return fromBody ? { ...tied, notice: BODY_CELLS_NOTICE } : tied;
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const malformed = isMalformedOutput(error);
        this.logger.warn({ err: describeError(error), attempt, model: backend.label }, 'LLM comparison failed');
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

  /** A one- or two-line TL;DR: the model's when configured, else the source's own summary, else the key sentence. */
  async summarize(paper: Paper, options: { signal?: AbortSignal } = {}): Promise<string> {
    const fallback = () => paper.aiSummary?.trim() || keySentence(paper.abstract);
    if (!this.backend) return fallback();
    const chain = RunnableSequence.from([
      RunnableLambda.from(summarizePromptValues),
      this.prompts.summarize,
      this.backend.model,
      new StringOutputParser(),
    ]);
    try {
      const summary = await chain.invoke(paper, { signal: deadline(this.timeoutMs, options.signal) });
      const cleaned = summary.replace(/^\s*(tl;?dr:?)\s*/i, '').trim();
      return cleaned || fallback();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.logger.warn({ err: describeError(error), paper: paper.id }, 'LLM summary failed; using the abstract');
      return fallback();
    }
  }

  /** Nothing to release: chat clients hold no connection between calls. Here so owners can close services alike. */
  async close(): Promise<void> {}

  /**
   * Answers from passages of the papers' full text (fetched now, within the budget, for the best few papers that
   * have none yet), cited by section. For a question about one paper it always answers, from the abstract when the
   * full text is off or cannot be had, and says so. For other questions, when none of the papers has full text it
   * returns undefined and the abstracts answer as before.
   */
  private async askFromPassages(
    question: string,
    hits: RetrievedPaper[],
    history: ChatTurn[],
    options: AskOptions,
    passageOptions?: { limit: number; perPaper: number },
  ): Promise<Answer | undefined> {
    const focused = passageOptions !== undefined;
    let notice: string | undefined;
    const fullText = this.fullText;
    if (!fullText?.enabled) {
      if (!focused) return undefined;
      notice = fullText ? FULL_TEXT_OFF_NOTE : undefined;
    } else {
      const top = hits.slice(0, ON_DEMAND_PAPERS);
      const statuses = await Promise.all(
        top.map((hit) => fullText.ensure(hit.paper, { signal: options.signal, budgetMs: fullText.timeoutMs })),
      );
      if (!statuses.some((status) => status.state === 'ready') && !focused) return undefined;
      const first = statuses[0]!;
      if (first.state === 'unavailable')
        notice = `The full text of this paper is not available (${first.reason}), so this answer draws on its abstract.`;
      if (!focused && notice)
        notice = notice
          .replace('this paper', `“${hits[0]!.paper.title}”`)
          .replace('this answer draws on its abstract', 'the answer draws on its abstract');
    }
    const sources: PaperPassages[] = fullText
      ? await fullText.passages(question, hits, passageOptions ?? { limit: (options.k ?? this.k) + 3, perPaper: 3 })
      : hits.map((hit) => ({
          ...hit,
          passages: [{ section: null, label: null, page: null, text: hit.paper.abstract, score: hit.score }],
        }));
    if (sources.length === 0) return abstention(question);
    const withNotice = (answer: Answer, extra?: string): Answer => {
      const combined = [notice, extra].filter(Boolean).join(' ');
      return combined ? { ...answer, notice: combined } : answer;
    };
    if (!this.backend) return withNotice(extractiveFromPassages(question, sources));
    let generated: string;
    try {
      generated = await this.generateAnswer(this.backend, passagePromptValues({ sources, question, history }), options);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.logger.warn(
        { err: describeError(error), model: this.backend.label },
        'LLM answer failed; answering extractively',
      );
      return withNotice(extractiveFromPassages(question, sources), MODEL_UNAVAILABLE_NOTICE);
    }
    const answer = passageAnswer(generated, sources, this.backend.label);
    if (answer.removed.length > 0)
      this.logger.warn(
        { removed: answer.removed, sources: sources.length },
        'removed citations of sources the model was not given',
      );
    if (answer.answer.citations.length === 0) {
      this.logger.warn({ model: this.backend.label }, 'LLM answer cited no source; answering extractively');
      return withNotice(
        extractiveFromPassages(question, sources),
        generated ? UNCITED_ANSWER_NOTICE : MODEL_UNAVAILABLE_NOTICE,
      );
    }
    return withNotice(answer.answer);
  }
  private async retrieveSources(question: string, history: ChatTurn[], options: AskOptions): Promise<RetrievedSources> {
    // The first step of the answer pipeline is the library's LangChain retriever; an abstention is no documents.
    const retriever = new LibraryRetriever({ retriever: this.retriever, k: options.k ?? this.k });
    let documents = await retriever.invoke(question, { signal: options.signal });
    if (documents.length === 0) {
      // A follow-up such as "and what about its results?" only makes sense with the question before it.
      const previous = [...history].reverse().find((turn) => turn.role === 'user');
      if (previous) documents = await retriever.invoke(`${previous.content}\n${question}`, { signal: options.signal });
    }
    const first: RetrievedSources = {
      hits: await this.papersOf(documents),
      confidence: documents[0]?.metadata.confidence ?? 'none',
    };
    if (first.confidence !== 'low' || !this.backend) return first;
    return this.retrieveRewritten(this.backend, question, first, options);
  }

  /**
   * Nothing clearly matched: the model rewrites the question into search queries in the papers' own terms
   * (LangChain's MultiQueryRetriever idea) and each is searched. When any of them matches clearly, the papers of
   * those that do are fused by reciprocal rank; otherwise, or when the model fails, the first pass stands.
   */
  private async retrieveRewritten(
    backend: ChatBackend,
    question: string,
    first: RetrievedSources,
    options: AskOptions,
  ): Promise<RetrievedSources> {
    const chain = RunnableSequence.from([
      RunnableLambda.from(rewritePromptValues),
      this.prompts.rewrite,
      backend.model,
      new StringOutputParser(),
    ]);
    let queries: string[];
    try {
      queries = parseRewrittenQueries(
        await chain.invoke(question, { signal: deadline(this.timeoutMs, options.signal) }),
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.logger.warn(
        { err: describeError(error), model: backend.label },
        'LLM query rewrite failed; using the first retrieval',
      );
      return first;
    }
    const k = options.k ?? this.k;
    const matched: RetrievedPaper[][] = [];
    for (const query of queries) {
      const result = await this.retriever.retrieve(query, { k, signal: options.signal });
      if (result.confidence === 'high') matched.push(result.hits);
    }
    this.logger.debug({ queries, matched: matched.length }, 'rewrote a low-confidence question');
    if (matched.length === 0) return first;
    return { hits: reciprocalRankFusion(matched).slice(0, k), confidence: 'high' };
  }

  private papersOf(documents: readonly Document<PaperDocumentMetadata>[]): Promise<RetrievedPaper[]> {
    return Promise.all(
      documents.map(async (document) => ({
        paper: await this.resolvePaper(document.metadata.id),
        score: document.metadata.score,
      })),
    );
  }

  private async generateAnswer(
    backend: ChatBackend,
    values: Record<string, string>,
    options: AskOptions,
  ): Promise<string> {
    const chain = RunnableSequence.from([this.prompts.answer, backend.model, new StringOutputParser()]);
    const signal = deadline(this.timeoutMs, options.signal);
    const stream = await chain.stream(values, { signal });
    let text = '';
    for await (const chunk of abortable(stream, signal)) {
      text += chunk;
      if (chunk) options.onPartial?.(text);
    }
    return text.trim();
  }

  private async resolveCompared(names: string[]): Promise<Paper[]> {
    const wanted = names.map((name) => name.trim()).filter(Boolean);
    if (wanted.length < MIN_COMPARED || wanted.length > MAX_COMPARED) {
      throw new UserError(`Name ${MIN_COMPARED} to ${MAX_COMPARED} papers to compare (got ${wanted.length}).`);
    }
    const papers: Paper[] = [];
    for (const name of wanted) papers.push(await this.resolvePaper(name));
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
}

function abstention(question: string): Answer {
  const shown = question.length > ECHOED_QUESTION_CHARS ? `${question.slice(0, ECHOED_QUESTION_CHARS)}…` : question;
  return {
    answer: `I found nothing in the library about “${shown}”.`,
    citations: [],
    confidence: 'none',
    abstained: true,
    model: EXTRACTIVE_MODEL,
  };
}

interface RetrievedSources {
  hits: RetrievedPaper[];
  confidence: RetrievalConfidence;
}

/** Papers of several rankings by the sum of 1 / (60 + rank), the usual RRF constant; scores are rescaled to the best. */
function reciprocalRankFusion(rankings: readonly RetrievedPaper[][]): RetrievedPaper[] {
  const fused = new Map<string, RetrievedPaper>();
  for (const ranking of rankings) {
    ranking.forEach((hit, index) => {
      const entry = fused.get(hit.paper.id) ?? { paper: hit.paper, score: 0 };
      entry.score += 1 / (60 + index + 1);
      fused.set(hit.paper.id, entry);
    });
  }
  const ranked = [...fused.values()].sort((left, right) => right.score - left.score);
  const best = ranked[0]?.score ?? 1;
  return ranked.map((hit) => ({ paper: hit.paper, score: hit.score / best }));
}

/** A `low` answer opens by saying nothing clearly matched and which of the closest papers it drew on. */
function unsure(answer: Answer): Answer {
  const cited = [...new Set(answer.citations.map((citation) => citation.n))].map((n) => `[${n}]`);
  const list = cited.length <= 1 ? cited.join('') : `${cited.slice(0, -1).join(', ')} and ${cited.at(-1)}`;
  return {
    ...answer,
    confidence: 'low',
    answer: `${LOW_CONFIDENCE_LEAD} ${list}, and this answer draws on them.\n\n${answer.answer}`,
  };
}

function extractive(question: string, sources: Paper[], scores: number[]): Answer {
  const { text, kept } = verifyCitations(extractiveAnswer(question, sources, { scores }), sources.length);
  return {
    answer: text,
    citations: citationsFor(kept, sources),
    confidence: 'high',
    abstained: false,
    model: EXTRACTIVE_MODEL,
  };
}

function citationsFor(numbers: number[], sources: Paper[]): Citation[] {
  return numbers.map((n) => {
    const paper = sources[n - 1]!;
    return { n, id: paper.id, title: paper.title, ...(paper.url ? { url: paper.url } : {}) };
  });
}

/** An answer citing passages: `[n, §4.1]` checked against the passages given, each cited place a citation. */
function passageAnswer(
  text: string,
  sources: readonly PaperPassages[],
  model: string,
): { answer: Answer; removed: number[] } {
  const verified = verifySectionCitations(
    text,
    sources.map((source) => ({
      labels: new Set(
        source.passages.map((passage) => passage.label).filter((label): label is string => label !== null),
      ),
    })),
  );
  const citations = verified.places.map((place): Citation => {
    const source = sources[place.n - 1]!;
    const passage =
      place.label === null ? undefined : source.passages.find((candidate) => candidate.label === place.label);
    return {
      n: place.n,
      id: source.paper.id,
      title: source.paper.title,
      ...(source.paper.url ? { url: source.paper.url } : {}),
      section: passage?.section ?? null,
      page: passage?.page ?? null,
    };
  });
  return {
    answer: { answer: verified.text, citations, confidence: 'high', abstained: false, model },
    removed: verified.removed,
  };
}

/**
 * The extractive answer over passages: each passage stands as a source of its own, so sentences are picked from the
 * passages that match best; their `[i]` then become `[n, §x]` of the paper and section they come from.
 */
function extractiveFromPassages(question: string, sources: readonly PaperPassages[]): Answer {
  // Passages far below the best one would only add sentences that share a word with the question.
  const best = Math.max(...sources.flatMap((source) => source.passages.map((passage) => passage.score)));
  const flat = sources
    .flatMap((source, index) => source.passages.map((passage) => ({ n: index + 1, paper: source.paper, passage })))
    .filter(({ passage }, position) => position === 0 || passage.score >= EXTRACTIVE_PASSAGE_SHARE * best);
  const pseudo: Paper[] = flat.map(({ paper, passage }) => ({ ...paper, abstract: passage.text }));
  const text = extractiveAnswer(question, pseudo, { scores: flat.map(({ passage }) => passage.score) });
  const mapped = text.replace(/\[(\d+)\]/g, (match, index: string) => {
    const entry = flat[Number(index) - 1];
    if (!entry) return match;
    return entry.passage.label ? `[${entry.n}, ${entry.passage.label}]` : `[${entry.n}]`;
  });
  return passageAnswer(mapped, sources, EXTRACTIVE_MODEL).answer;
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

/**
 * Ends iteration with the signal's reason as soon as it aborts, even while the source is waiting for a chunk that
 * never comes (a stream that stalls midway).
 */
async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    while (true) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Not awaited: a stalled source settles only once its own request, aborted by the same signal, does.
    iterator.return?.().catch(() => undefined);
  }
}
