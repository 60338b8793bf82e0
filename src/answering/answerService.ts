import { StringOutputParser } from '@langchain/core/output_parsers';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import type { Document } from '@langchain/core/documents';
import { UserError, describeError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import { abortable } from '../util/abortable.js';
import { LibraryRetriever, type PaperDocumentMetadata } from '../retrieval/langchain.js';
import type { PaperRetriever, RetrievalConfidence, RetrievedPaper } from '../retrieval/types.js';
import type { FullTextService, PaperPassages } from '../fulltext/service.js';
import { FULL_TEXT_OFF_NOTE } from '../fulltext/service.js';
import { verifyCitations, withoutMissingClaims } from './citations.js';
import type { Comparison } from './comparison.js';
import {
  abstention,
  answerFromAbstracts,
  citationsFor,
  EXTRACTIVE_MODEL,
  extractiveFromPassages,
  MODEL_UNAVAILABLE_NOTICE,
  passageAnswer,
  UNCITED_ANSWER_NOTICE,
  unsure,
  type Answer,
} from './answers.js';
import { keySentence } from './facets.js';
import { createChatBackend, deadline, type ChatBackend, type LlmConfig } from './llm.js';
import { comparePapers, resolveComparedPapers } from './paperComparison.js';
import {
  answerPromptValues,
  passagePromptValues,
  loadPrompts,
  parseRewrittenQueries,
  rewritePromptValues,
  summarizePromptValues,
  type ChatTurn,
  type Prompts,
} from './prompts.js';

export type { Answer, Citation } from './answers.js';
export type { Comparison } from './comparison.js';
export type { ChatTurn } from './prompts.js';

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
  /**
   * Answer from these papers only (ids or titles; a reading session's), from their full text when there is one:
   * passages of each are weighed together, so a question comparing them draws on all of them.
   */
  papers?: readonly string[];
}

/** Papers one question may be restricted to (`/read`, `papercord ask --paper … --paper …`). */
export const MAX_SESSION_PAPERS = 5;

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

/** Papers of a question whose full text is fetched on demand when missing (the rest answer from what is stored). */
const ON_DEMAND_PAPERS = 3;
/** Passages given for a question about one paper. */
const PAPER_PASSAGES = 6;
/** Passages given for a question about a reading session's papers, shared among them. */
const SESSION_PASSAGES = 10;

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
    if (options.papers !== undefined && options.papers.length > 0) {
      if (options.papers.length > MAX_SESSION_PAPERS)
        throw new UserError(
          `A question can be about at most ${MAX_SESSION_PAPERS} papers (got ${options.papers.length}).`,
        );
      const papers = await Promise.all(options.papers.map((name) => this.resolvePaper(name)));
      const unique = [...new Map(papers.map((paper) => [paper.id, paper])).values()];
      // Every paper keeps a share of the passages, so "how do they differ?" is answered from all of them.
      const perPaper = Math.max(2, Math.floor(SESSION_PASSAGES / unique.length));
      return (await this.askFromPassages(
        trimmed,
        unique.map((paper) => ({ paper, score: 1 })),
        history,
        options,
        { limit: Math.max(PAPER_PASSAGES, perPaper * unique.length), perPaper },
      ))!;
    }
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
    const { hits, confidence, missing } = await this.retrieveSources(trimmed, history, { ...options, k: pool });
    if (hits.length === 0) return abstention(trimmed, missing);
    // With full text, the passages of these papers answer; when none of them has any, their abstracts do, as before.
    const fromPassages = this.fullText?.enabled
      ? await this.askFromPassages(trimmed, hits, history, options, undefined, missing)
      : undefined;
    const answer = fromPassages ?? (await this.answerFrom(trimmed, hits, history, options, missing));
    return confidence === 'low' ? unsure(answer, trimmed, missing) : answer;
  }

  private async answerFrom(
    trimmed: string,
    hits: RetrievedPaper[],
    history: ChatTurn[],
    options: AskOptions,
    missing: readonly string[] = [],
  ): Promise<Answer> {
    const sources = hits.map((hit) => hit.paper);
    // The extractive answer leaves out papers retrieved much worse than the best one.
    const scores = hits.map((hit) => hit.score);
    if (!this.backend) return answerFromAbstracts(trimmed, sources, scores);
    let generated: string;
    try {
      generated = await this.generateAnswer(
        this.backend,
        answerPromptValues({ sources, question: trimmed, history, missing }),
        options,
      );
    } catch (error) {
      if (options.signal?.aborted) throw error;
      this.logger.warn(
        { err: describeError(error), model: this.backend.label },
        'LLM answer failed; answering extractively',
      );
      return { ...answerFromAbstracts(trimmed, sources, scores), notice: MODEL_UNAVAILABLE_NOTICE };
    }
    if (!generated) {
      this.logger.warn({ model: this.backend.label }, 'LLM answer was empty; answering extractively');
      return { ...answerFromAbstracts(trimmed, sources, scores), notice: MODEL_UNAVAILABLE_NOTICE };
    }
    const verified = verifyCitations(this.refuseMissingClaims(generated, missing), sources.length);
    if (verified.removed.length > 0) {
      this.logger.warn(
        { removed: verified.removed, sources: sources.length },
        'removed citations of sources the model was not given',
      );
    }
    if (verified.kept.length === 0) {
      this.logger.warn({ model: this.backend.label }, 'LLM answer cited no source; answering extractively');
      return { ...answerFromAbstracts(trimmed, sources, scores), notice: UNCITED_ANSWER_NOTICE };
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
    const papers = await resolveComparedPapers(names, this.resolvePaper);
    return comparePapers(papers, {
      backend: this.backend,
      prompt: this.prompts.compare,
      timeoutMs: this.timeoutMs,
      logger: this.logger,
      document: (id) => this.fullText?.document(id),
      signal: options.signal,
    });
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
    missing: readonly string[] = [],
  ): Promise<Answer | undefined> {
    const focused = passageOptions !== undefined;
    let notice: string | undefined;
    const fullText = this.fullText;
    if (!fullText?.enabled) {
      if (!focused) return undefined;
      notice = fullText ? FULL_TEXT_OFF_NOTE : undefined;
    } else {
      // The papers a question is restricted to are all fetched; otherwise the best few.
      const top = focused ? hits : hits.slice(0, ON_DEMAND_PAPERS);
      const statuses = await Promise.all(
        top.map((hit) => fullText.ensure(hit.paper, { signal: options.signal, budgetMs: fullText.timeoutMs })),
      );
      if (!statuses.some((status) => status.state === 'ready') && !focused) return undefined;
      const first = statuses[0]!;
      if (focused && hits.length > 1) {
        const missing = top.filter((_, index) => statuses[index]!.state === 'unavailable');
        if (missing.length > 0)
          notice = `The full text of ${missing.map((hit) => `“${hit.paper.title}”`).join(', ')} is not available, so the answer draws on ${missing.length === 1 ? 'its abstract' : 'their abstracts'} there.`;
      } else if (first.state === 'unavailable')
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
      generated = this.refuseMissingClaims(
        await this.generateAnswer(this.backend, passagePromptValues({ sources, question, history, missing }), options),
        missing,
      );
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
  /** The model's answer without its sentences claiming a concept no source covers (logged: the prompt forbids it). */
  private refuseMissingClaims(generated: string, missing: readonly string[]): string {
    const checked = withoutMissingClaims(generated, missing);
    if (checked.refused.length > 0)
      this.logger.warn({ refused: checked.refused }, 'removed sentences claiming concepts no source covers');
    return checked.text;
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
      // An abstention has no documents to carry what was missing; asking again is cheap next to an answer.
      missing:
        documents[0]?.metadata.missing ??
        (await this.retriever.retrieve(question, { k: 1, signal: options.signal })).missing ??
        [],
    };
    // A rewritten query is graded like any other: it is `high` only when its own key concepts are covered.
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
    return { hits: reciprocalRankFusion(matched).slice(0, k), confidence: 'high', missing: [] };
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
}

interface RetrievedSources {
  hits: RetrievedPaper[];
  confidence: RetrievalConfidence;
  missing: string[];
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
