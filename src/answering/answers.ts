import type { Paper } from '../papers/paper.js';
import type { PaperPassages } from '../fulltext/service.js';
import { closestTopic, notInLibrary } from '../retrieval/keyConcepts.js';
import { LOW_CONFIDENCE_LEAD } from '../retrieval/types.js';
import type { RetrievalConfidence } from '../retrieval/types.js';
import { verifyCitations, verifySectionCitations } from './citations.js';
import { extractiveAnswer } from './extractiveAnswer.js';

/** What an answer is, and the answers made without a language model: extractive ones and abstentions. */

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
  /**
   * The question's key concepts no paper given covers ("federated learning"); the answer opens by saying so.
   * Absent or empty when nothing is missing.
   */
  missing?: string[];
}

export const EXTRACTIVE_MODEL = 'extractive';
export const MODEL_UNAVAILABLE_NOTICE = 'The language model was unavailable, so this answer is extractive.';
export const UNCITED_ANSWER_NOTICE =
  "The language model's answer cited none of the sources, so this answer is extractive.";

/** Share of the best passage's score a passage needs to be quoted in an extractive answer. */
const EXTRACTIVE_PASSAGE_SHARE = 0.6;
/** Longest question echoed back in an abstention, so a pasted essay does not fill the reply. */
const ECHOED_QUESTION_CHARS = 200;

export function abstention(question: string, missing: readonly string[] = []): Answer {
  const shown = question.length > ECHOED_QUESTION_CHARS ? `${question.slice(0, ECHOED_QUESTION_CHARS)}…` : question;
  // "Nothing in the library about …" already says the library lacks it; `missing` still names the concepts.
  return {
    ...(missing.length > 0 ? { missing: [...missing] } : {}),
    answer: `I found nothing in the library about “${shown}”.`,
    citations: [],
    confidence: 'none',
    abstained: true,
    model: EXTRACTIVE_MODEL,
  };
}

/**
 * A `low` answer opens by saying nothing clearly matched and which of the closest papers it drew on; when key
 * concepts of the question are missing, it first names them: "No paper in the library mentions federated learning
 * or differential privacy. The closest papers, on llm finetuning, are [1] and [2], and this answer draws on them."
 */
export function unsure(answer: Answer, question = '', missing: readonly string[] = []): Answer {
  const cited = [...new Set(answer.citations.map((citation) => citation.n))].map((n) => `[${n}]`);
  const list = cited.length <= 1 ? cited.join('') : `${cited.slice(0, -1).join(', ')} and ${cited.at(-1)}`;
  const topic = missing.length > 0 ? closestTopic(question, missing) : '';
  const lead =
    missing.length > 0
      ? `${notInLibrary(missing)} The closest ${cited.length === 1 ? 'paper' : 'papers'}${topic ? `, on ${topic},` : ''} ${cited.length === 1 ? 'is' : 'are'} ${list}`
      : `${LOW_CONFIDENCE_LEAD} ${list}`;
  return {
    ...answer,
    confidence: 'low',
    ...(missing.length > 0 ? { missing: [...missing] } : {}),
    answer: `${lead}, and this answer draws on ${missing.length > 0 && cited.length === 1 ? 'it' : 'them'}.\n\n${answer.answer}`,
  };
}

export function answerFromAbstracts(question: string, sources: Paper[], scores: number[]): Answer {
  const { text, kept } = verifyCitations(extractiveAnswer(question, sources, { scores }), sources.length);
  return {
    answer: text,
    citations: citationsFor(kept, sources),
    confidence: 'high',
    abstained: false,
    model: EXTRACTIVE_MODEL,
  };
}

export function citationsFor(numbers: number[], sources: Paper[]): Citation[] {
  return numbers.map((n) => {
    const paper = sources[n - 1]!;
    return { n, id: paper.id, title: paper.title, ...(paper.url ? { url: paper.url } : {}) };
  });
}

/** An answer citing passages: `[n, §4.1]` checked against the passages given, each cited place a citation. */
export function passageAnswer(
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
export function extractiveFromPassages(question: string, sources: readonly PaperPassages[]): Answer {
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
