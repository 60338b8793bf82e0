import { splitSentences } from '../text/sentences.js';
import { sectionHeading, sectionLabel, type FullTextDocument } from './document.js';

/**
 * Passages of a paper's body for retrieval: a few hundred tokens each, cut at paragraph (then sentence) boundaries,
 * never across a section, so every passage can be cited by the one section it comes from.
 */

export interface FullTextChunk {
  /** Position within the paper, from 0. */
  seq: number;
  /** `4.1 Training setup`; null for the abstract and for PDF pages without a recovered heading. */
  section: string | null;
  /** `§4.1`, `p. 7`; null for the abstract. */
  label: string | null;
  /** PDF page where the passage starts. */
  page: number | null;
  text: string;
}

export interface ChunkingOptions {
  /** A passage grows paragraph by paragraph until it reaches this many characters (about 250 tokens). */
  targetChars: number;
  /** A longer paragraph is cut at sentence boundaries. */
  maxChars: number;
  /** Most passages kept per paper. */
  maxChunks: number;
}

export const DEFAULT_CHUNKING: Readonly<ChunkingOptions> = Object.freeze({
  targetChars: 1000,
  maxChars: 1600,
  maxChunks: 1500,
});

/** Sections whose text is not the paper's own findings. */
const SKIPPED_SECTIONS = /^(references|bibliography|acknowledge?ments?|abstract)$/i;

export function chunkDocument(document: FullTextDocument, options: Partial<ChunkingOptions> = {}): FullTextChunk[] {
  const { targetChars, maxChars, maxChunks } = { ...DEFAULT_CHUNKING, ...options };
  const chunks: FullTextChunk[] = [];
  for (const section of document.sections) {
    if (SKIPPED_SECTIONS.test(section.title.trim())) continue;
    const heading = sectionHeading(section);
    let text = '';
    let page: number | null = null;
    const flush = () => {
      if (!text.trim()) return;
      // A PDF section with no recovered heading is cited by the page its passage starts on.
      const label = sectionLabel(section, page ?? undefined);
      chunks.push({ seq: chunks.length, section: heading || null, label, page, text: text.trim() });
      text = '';
      page = null;
    };
    for (const block of section.blocks) {
      for (const piece of pieces(block.text, maxChars)) {
        if (text && text.length + piece.length + 1 > targetChars) flush();
        if (!text) page = block.page ?? section.page ?? null;
        text = text ? `${text}\n${piece}` : piece;
      }
    }
    flush();
    if (chunks.length >= maxChunks) return chunks.slice(0, maxChunks);
  }
  return chunks;
}

/** A paragraph as it is when short enough, else runs of its sentences under `maxChars` (a sentence never cut). */
function pieces(text: string, maxChars: number): string[] {
  if (text.length <= maxChars) return [text];
  const out: string[] = [];
  let current = '';
  for (const sentence of splitSentences(text)) {
    if (current && current.length + sentence.length + 1 > maxChars) {
      out.push(current);
      current = '';
    }
    current = current ? `${current} ${sentence}` : sentence;
  }
  if (current) out.push(current);
  return out;
}
