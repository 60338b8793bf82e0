import { normalizeTitle, type Paper } from '../../papers/paper.js';
import { analyzePaper } from '../../text/analysis.js';
import { boundedForAdd, planAdd, vectorsOfNewPapers } from '../addPlan.js';
import type { AddOptions, AddResult, PreparedPaper } from '../library.js';
import { checkpointDue, checkpointNow } from './checkpoints.js';
import { vectorBlob } from './database.js';
import { embedding, takeInCommitted, takeInLatest, withWriteLock, type SqliteLibraryState } from './state.js';

/**
 * Adding papers to a local library: under the write lock, planned against the newest commit (see `planAdd`),
 * embedded, then committed in one transaction with everything derived from them.
 */

export function addPapers(
  state: SqliteLibraryState,
  given: readonly Paper[],
  givenOptions: AddOptions,
): Promise<AddResult> {
  const { papers: incoming, prepared } = boundedForAdd(given, givenOptions.prepared, state.options.paperTextLimits);
  const options = { ...givenOptions, prepared };
  const { signal } = options;
  signal?.throwIfAborted();
  return withWriteLock(
    state,
    async () => {
      // Another process (the bot, a CLI ingest) may have committed since: dedupe against the newest library.
      takeInLatest(state);
      const plan = planAdd(incoming, (paper) => {
        const row = state.statements.byId.get(paper.id) ?? state.statements.byTitle.get(normalizeTitle(paper.title));
        return row && (JSON.parse(row.paper) as Paper);
      });
      if (plan.fresh.length === 0 && plan.updates.length === 0)
        return { added: plan.fresh, existing: plan.existing, stored: plan.stored };

      const vectors = await vectorsOfNewPapers(plan.fresh, options.prepared, {
        ...embedding(state, signal),
        ...(options.embedBatchSize ? { batchSize: options.embedBatchSize } : {}),
      });
      signal?.throwIfAborted();
      await state.options.onSaveStep?.('embedded');
      // IMMEDIATE: the transaction takes SQLite's write lock at its start, so nothing another connection commits can
      // come between the check below and the inserts. Under write.lock nothing can; the check makes sure of it for
      // a writer that does not hold it (a lock file removed by hand): a paper stored meanwhile is not stored twice.
      const added = state.db
        .transaction(() => {
          for (const paper of plan.updates) state.statements.updatePaper.run(JSON.stringify(paper), paper.id);
          const entries = plan.fresh
            .map((paper, index) => ({
              paper,
              prepared: {
                vector: vectors[index]!,
                analyzed: options.prepared?.get(paper.id)?.analyzed ?? analyzePaper(paper),
              },
            }))
            .filter(({ paper }) => !isStored(state, paper));
          insertNew(state, entries);
          return entries.map((entry) => entry.paper);
        })
        .immediate();
      const result = {
        added,
        existing: plan.existing + plan.fresh.length - added.length,
        stored: plan.stored,
      };
      // In the same synchronous step as the commit: no reader in this process sees the database and memory disagree.
      takeInCommitted(state);
      await state.options.onSaveStep?.('commit');
      if (options.checkpoint !== false && checkpointDue(state)) await checkpointNow(state);
      return result;
    },
    signal,
  );
}

function isStored(state: SqliteLibraryState, paper: Paper): boolean {
  return (
    state.statements.byId.get(paper.id) !== undefined ||
    state.statements.byTitle.get(normalizeTitle(paper.title)) !== undefined
  );
}

/** Inserts new papers with everything derived from them; call inside a transaction. */
export function insertNew(
  state: SqliteLibraryState,
  entries: ReadonlyArray<{ paper: Paper; prepared: PreparedPaper }>,
): void {
  if (entries.length === 0) return;
  let seq = (state.statements.maxSeq.get()?.seq ?? -1) + 1;
  const rows = entries.map((entry) => ({ ...entry, seq: seq++ }));
  for (const { paper, seq: paperSeq, prepared } of rows) {
    state.statements.insertPaper.run(paperSeq, paper.id, normalizeTitle(paper.title), JSON.stringify(paper));
    state.statements.insertVector.run(paperSeq, vectorBlob(prepared.vector));
  }
  state.lexical.add(rows.map((row) => ({ seq: row.seq, analyzed: row.prepared.analyzed })));
  state.names.add(rows);
}
