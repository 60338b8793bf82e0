import { describeError, UserError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Library } from '../library/library.js';
import { normalizeTitle, paperId, type Paper } from '../papers/paper.js';
import type { CitationGraph, CitationSource, GraphPaper, GraphSourceName } from '../papers/sources/citationGraph.js';
import { SourceError } from '../papers/sources/http.js';
import type { GraphCache } from './store.js';

/** A reference or citation, marked with the library's copy when the library holds it. */
export interface GraphNeighbor extends GraphPaper {
  inLibrary: boolean;
  /** The library's id of it (`arxiv:…`, `t:…`) when `inLibrary`. */
  libraryId?: string;
}

/** What a front end shows for one paper. */
export interface PaperGraph {
  /** The arXiv id when the paper has one, else its library id. */
  id: string;
  title: string;
  references: GraphNeighbor[];
  citations: GraphNeighbor[];
  referenceCount: number;
  citationCount: number;
  /** Where the lists came from; `bibliography` when only the paper's full text could say. */
  source: GraphSourceName;
  fetchedAt: string;
  /** For the reader: answered from the cache because the sources failed, sources that do not know the paper. */
  notes: string[];
}

/** The paper asked about: a library paper, or an arXiv id the library may not hold. */
export interface GraphSubject {
  title: string;
  arxivId?: string;
  /** Its library id, when it is in the library (its full text's bibliography is read by it). */
  libraryId?: string;
}

/** One work a paper's full text cites (see `FullTextService.bibliography`). */
export interface CitedWork {
  title?: string;
  arxivId?: string;
}

export interface PaperGraphServiceOptions {
  /** Asked in order until one knows the paper: Semantic Scholar, then OpenAlex. */
  sources: readonly CitationSource[];
  cache: GraphCache;
  library: Pick<Library, 'get' | 'getByTitle'>;
  /** The works a stored full text cites, by library id; undefined without full text. */
  bibliography?: (libraryId: string) => CitedWork[] | undefined;
  /** `GRAPH_REFRESH_HOURS` in milliseconds: a cached graph younger than this is used without asking the sources. */
  refreshMs: number;
  logger?: Logger;
  now?: () => Date;
}

const SOURCE_LABELS: Record<GraphSourceName, string> = {
  s2: 'Semantic Scholar',
  openalex: 'OpenAlex',
  bibliography: "the paper's bibliography",
};

/** Neither source answered and nothing is cached: the front end says so (one line, exit 1 in the CLI). */
export class GraphUnavailableError extends UserError {}

/**
 * References and citations of a paper: from the cache while it is fresh, else from Semantic Scholar, else OpenAlex,
 * with the paper's own bibliography added to the references. Sources that fail leave the cached graph in place,
 * whatever its age, with a note; only with nothing cached and nothing in the full text is it an error.
 */
export class PaperGraphService {
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(private readonly options: PaperGraphServiceOptions) {
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? (() => new Date());
  }

  close(): Promise<void> {
    return this.options.cache.close();
  }

  static subjectOf(paper: Paper): GraphSubject {
    return { title: paper.title, libraryId: paper.id, ...(paper.arxivId ? { arxivId: paper.arxivId } : {}) };
  }

  async graph(subject: GraphSubject, options: { signal?: AbortSignal; refresh?: boolean } = {}): Promise<PaperGraph> {
    const key = subject.arxivId ? `arxiv:${subject.arxivId}` : subject.libraryId;
    if (!key)
      throw new UserError(`"${subject.title}" has no arXiv id, so its references and citations cannot be looked up`);
    const cached = await this.options.cache.get(key);
    const age = cached ? this.now().getTime() - Date.parse(cached.fetchedAt) : Infinity;
    if (cached && !options.refresh && age < this.options.refreshMs)
      return this.present(subject, cached.graph, cached.fetchedAt, []);

    const failures: string[] = [];
    const unknownTo: string[] = [];
    let fetched: CitationGraph | undefined;
    if (subject.arxivId) {
      for (const source of this.options.sources) {
        try {
          fetched = await source.graph(subject.arxivId, options.signal);
          if (fetched) break;
          unknownTo.push(SOURCE_LABELS[source.name]);
        } catch (error) {
          if (options.signal?.aborted || !(error instanceof SourceError)) throw error;
          this.logger.warn({ paper: key, source: source.name, err: error.message }, 'citation source failed');
          failures.push(`${SOURCE_LABELS[source.name]}: ${describeError(error)}`);
        }
      }
    }
    const cited = subject.libraryId ? (this.options.bibliography?.(subject.libraryId) ?? []) : [];
    const fetchedAt = this.now().toISOString();
    if (fetched) {
      const graph = withBibliography(fetched, cited);
      await this.options.cache.put(key, { graph, fetchedAt });
      return this.present(subject, graph, fetchedAt, []);
    }
    if (failures.length > 0 && cached) {
      const note = `${failures.join('; ')}: showing what was fetched on ${cached.fetchedAt.slice(0, 10)}`;
      return this.present(subject, cached.graph, cached.fetchedAt, [note]);
    }
    const notes = [
      ...(failures.length > 0 ? [failures.join('; ')] : []),
      ...(unknownTo.length > 0
        ? [`${unknownTo.join(' and ')} ${unknownTo.length > 1 ? 'do' : 'does'} not know this paper`]
        : []),
      ...(!subject.arxivId ? ['the paper has no arXiv id, so Semantic Scholar and OpenAlex were not asked'] : []),
    ];
    if (cited.length === 0 && failures.length > 0) {
      throw new GraphUnavailableError(
        `no references or citations for "${subject.title}": ${failures.join('; ')}; nothing is cached for it`,
      );
    }
    const graph = withBibliography(emptyGraph('bibliography'), cited);
    if (cited.length > 0) {
      notes.push("references are from the paper's own bibliography; citations are unknown");
      await this.options.cache.put(key, { graph, fetchedAt });
    }
    return this.present(subject, graph, fetchedAt, notes);
  }

  private async present(
    subject: GraphSubject,
    graph: CitationGraph,
    fetchedAt: string,
    notes: string[],
  ): Promise<PaperGraph> {
    return {
      id: subject.arxivId ?? subject.libraryId ?? '',
      // A paper outside the library is known by its id until a source names it.
      title: subject.libraryId ? subject.title : (graph.title ?? subject.title),
      references: await this.mark(graph.references),
      citations: await this.mark(graph.citations),
      referenceCount: graph.referenceCount,
      citationCount: graph.citationCount,
      source: graph.source,
      fetchedAt,
      notes,
    };
  }

  /** Each neighbour looked up by id, then by title: one primary-key lookup each, never a scan of the library. */
  private async mark(papers: readonly GraphPaper[]): Promise<GraphNeighbor[]> {
    const marked: GraphNeighbor[] = [];
    for (const paper of papers) {
      const held =
        (paper.arxivId
          ? await this.options.library.get(paperId({ title: paper.title, arxivId: paper.arxivId }))
          : undefined) ?? (await this.options.library.getByTitle(paper.title));
      // A bibliography entry known only by its arXiv id takes the library's title for it.
      const title = held && paper.title === `arXiv:${paper.arxivId}` ? held.title : paper.title;
      marked.push({ ...paper, title, inLibrary: held !== undefined, ...(held ? { libraryId: held.id } : {}) });
    }
    return marked;
  }
}

function emptyGraph(source: GraphSourceName): CitationGraph {
  return { source, references: [], citations: [], referenceCount: 0, citationCount: 0 };
}

/** The bibliography's works that the source's references lack (by arXiv id or title), appended to them. */
function withBibliography(graph: CitationGraph, cited: readonly CitedWork[]): CitationGraph {
  const ids = new Set(graph.references.flatMap((paper) => (paper.arxivId ? [paper.arxivId] : [])));
  const titles = new Set(graph.references.map((paper) => normalizeTitle(paper.title)));
  const added: GraphPaper[] = [];
  cited.forEach((work, index) => {
    if (work.arxivId ? ids.has(work.arxivId) : !work.title || titles.has(normalizeTitle(work.title))) return;
    if (work.title && titles.has(normalizeTitle(work.title))) return;
    if (work.arxivId) ids.add(work.arxivId);
    if (work.title) titles.add(normalizeTitle(work.title));
    const title = work.title ?? `arXiv:${work.arxivId}`;
    added.push({ id: work.arxivId ?? `bib:${index + 1}`, title, ...(work.arxivId ? { arxivId: work.arxivId } : {}) });
  });
  if (added.length === 0) return graph;
  const references = [...graph.references, ...added];
  return { ...graph, references, referenceCount: Math.max(graph.referenceCount, references.length) };
}
