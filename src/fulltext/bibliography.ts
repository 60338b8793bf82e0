import { findArxivLinks } from '../papers/arxivIds.js';
import { MAX_BIBLIOGRAPHY_ENTRIES, type BibliographyEntry, type FullTextDocument } from './document.js';

const REFERENCES_HEADING = /^(references|bibliography|literature cited|works cited)$/i;

/**
 * What a paper's full text says it cites: LaTeXML's bibliography when the document kept one; for a PDF, the arXiv
 * ids written in its References section (titles cannot be told from authors and venues in a PDF's running text).
 */
export function bibliographyOf(document: FullTextDocument): BibliographyEntry[] {
  if (document.bibliography) return document.bibliography;
  const entries: BibliographyEntry[] = [];
  const seen = new Set<string>();
  for (const section of document.sections) {
    if (!REFERENCES_HEADING.test(section.title.trim())) continue;
    for (const block of section.blocks) {
      for (const arxivId of findArxivLinks(block.text)) {
        if (seen.has(arxivId) || entries.length >= MAX_BIBLIOGRAPHY_ENTRIES) continue;
        seen.add(arxivId);
        entries.push({ text: block.text.slice(0, 500), arxivId });
      }
    }
  }
  return entries;
}
