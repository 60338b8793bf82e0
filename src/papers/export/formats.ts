import type { Paper } from '../paper.js';
import { writeBibtex } from './bibtex.js';
import { writeCslJson } from './cslJson.js';
import { writeRis } from './ris.js';

/** A format papers can be exported in: how to write them and what the file is called. */
export interface ExportFormat {
  /** File extension, without the dot. */
  extension: string;
  contentType: string;
  write(papers: readonly Paper[]): string;
}

/** Every export format, by the name `--format` and `/export format:` take. Adding one is adding an entry. */
export const EXPORT_FORMATS = {
  bibtex: { extension: 'bib', contentType: 'application/x-bibtex; charset=utf-8', write: writeBibtex },
  'csl-json': { extension: 'json', contentType: 'application/vnd.citationstyles.csl+json', write: writeCslJson },
  ris: { extension: 'ris', contentType: 'application/x-research-info-systems', write: writeRis },
} as const satisfies Record<string, ExportFormat>;

export type ExportFormatName = keyof typeof EXPORT_FORMATS;

export const EXPORT_FORMAT_NAMES = Object.keys(EXPORT_FORMATS) as ExportFormatName[];

export function isExportFormatName(name: string): name is ExportFormatName {
  return Object.hasOwn(EXPORT_FORMATS, name);
}

/** Papers written in a format, with the file name a download gets (`papercord-export.bib`). */
export function exportPapers(
  papers: readonly Paper[],
  format: ExportFormatName,
): { text: string; fileName: string; contentType: string } {
  const { extension, contentType, write } = EXPORT_FORMATS[format];
  return { text: write(papers), fileName: `papercord-export.${extension}`, contentType };
}
