/**
 * A paper's body as papercord keeps it: numbered sections in reading order, each with its paragraphs, figure and
 * table captions. Built from arXiv's LaTeXML HTML or from a PDF; stored as JSON so chunks can be rebuilt without
 * fetching again.
 */

/** Where the text came from: arXiv's HTML rendering, the arXiv PDF, or a PDF added locally or from Discord. */
export type FullTextSource = 'html' | 'pdf' | 'local-pdf';
export const FULL_TEXT_SOURCES: readonly FullTextSource[] = ['html', 'pdf', 'local-pdf'];

export interface FullTextBlock {
  kind: 'paragraph' | 'caption';
  text: string;
  /** 1-based page of a PDF; undefined for HTML. */
  page?: number;
}

export interface FullTextSection {
  /** The number as printed (`3`, `4.1`, `A`); undefined for unnumbered sections (Abstract, Acknowledgments). */
  number?: string;
  title: string;
  /** 1 for a section, 2 for a subsection, 3 below. */
  level: number;
  /** First page of the section in a PDF. */
  page?: number;
  blocks: FullTextBlock[];
}

export interface FullTextDocument {
  source: FullTextSource;
  title?: string;
  sections: FullTextSection[];
  /** True when the paper was longer than papercord keeps and its end was left out. */
  truncated?: boolean;
  /** The works the paper cites, as its rendering lists them (LaTeXML's bibliography); absent for PDFs and older documents. */
  bibliography?: BibliographyEntry[];
}

/** One entry of a paper's bibliography: its text, its title when the rendering sets it apart, an arXiv id when it names one. */
export interface BibliographyEntry {
  text: string;
  title?: string;
  arxivId?: string;
}

/** Entries kept from one bibliography: enough for any paper, bounded for a hostile page. */
export const MAX_BIBLIOGRAPHY_ENTRIES = 1000;

/** `4.1 Training setup`, or the title alone for an unnumbered section. */
export function sectionHeading(section: Pick<FullTextSection, 'number' | 'title'>): string {
  return section.number ? `${section.number} ${section.title}`.trim() : section.title;
}

/**
 * How an answer cites a place in a paper: `§4.1` for a numbered section, `p. 7` for a PDF page without a recovered
 * heading, `§Acknowledgments` for an unnumbered one.
 */
export function sectionLabel(section: Pick<FullTextSection, 'number' | 'title'>, page?: number): string {
  if (section.number) return `§${section.number}`;
  if (page !== undefined && !section.title) return `p. ${page}`;
  return `§${section.title}`;
}

export function sectionChars(section: FullTextSection): number {
  return section.blocks.reduce((sum, block) => sum + block.text.length, 0);
}

/** Longest body papercord keeps for one paper; the rest is left out and the document marked truncated. */
export const MAX_DOCUMENT_CHARS = 600_000;

/** Drops what lies beyond MAX_DOCUMENT_CHARS (a thesis-length appendix), keeping whole blocks. */
export function capDocument(document: FullTextDocument, maxChars = MAX_DOCUMENT_CHARS): FullTextDocument {
  let used = 0;
  const sections: FullTextSection[] = [];
  for (const section of document.sections) {
    const blocks: FullTextBlock[] = [];
    for (const block of section.blocks) {
      if (used + block.text.length > maxChars) {
        if (blocks.length > 0) sections.push({ ...section, blocks });
        return { ...document, sections, truncated: true };
      }
      used += block.text.length;
      blocks.push(block);
    }
    sections.push({ ...section, blocks });
  }
  return { ...document, sections };
}
