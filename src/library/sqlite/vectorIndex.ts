import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type hnswlib from 'hnswlib-node';
import { hnswlibBuild } from './hnswlib.js';
import { syncDirectory, syncFile } from './storage.js';

/**
 * The HNSW graph over the library's vectors (hnswlib, cosine space), labelled by paper sequence number. It is a
 * derived structure: the vectors live in the database, the graph is checkpointed to a file now and then, and the
 * vectors committed since the checkpoint are added to it again when it is loaded.
 */

export interface CheckpointRecord {
  file: string;
  /** Every paper with a sequence number up to this one is in the checkpoint. */
  throughSeq: number;
  count: number;
  bytes: number;
  /** CRC-32 (zlib) of the file: what checkpoints carry since it replaced sha256 (see `checksumMatches`). */
  crc32?: number;
  /** sha256 of the file, in checkpoints written before (and in libraries upgraded from the generation format). */
  sha256?: string;
  dimension: number;
}

export interface VectorHit {
  seq: number;
  /** Cosine similarity, higher is closer. */
  score: number;
}

/** HNSWLib's (LangChain) M. */
const M = 16;
/**
 * Candidates kept while inserting (HNSW_EF_CONSTRUCTION). LangChain's 200 made the graph the slowest part of a
 * 100,000-paper ingest; 100 builds it in about two thirds of the time for a little recall (README: the library at
 * scale). A graph keeps the value it was built with.
 */
export const DEFAULT_EF_CONSTRUCTION = 100;
const INITIAL_CAPACITY = 1024;

export class VectorIndex {
  readonly dimension: number;
  private readonly index: hnswlib.HierarchicalNSW;
  private readonly efSearch: number;
  /** Highest sequence number in the graph. */
  throughSeq = -1;

  private constructor(dimension: number, efSearch: number) {
    this.dimension = dimension;
    this.efSearch = efSearch;
    this.index = new (hnswlibBuild().binding.HierarchicalNSW)('cosine', dimension);
  }

  static empty(dimension: number, efSearch: number, efConstruction = DEFAULT_EF_CONSTRUCTION): VectorIndex {
    const vectors = new VectorIndex(dimension, efSearch);
    vectors.index.initIndex(INITIAL_CAPACITY, M, efConstruction, 100);
    vectors.index.setEf(efSearch);
    return vectors;
  }

  /**
   * Reads a checkpoint after checking its size and checksum (hnswlib reads a truncated file without complaint or
   * crashes on it); throws a sentence naming what is wrong.
   */
  static async load(directory: string, record: CheckpointRecord, efSearch: number): Promise<VectorIndex> {
    const file = path.join(directory, record.file);
    const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
      throw new Error(`${record.file} cannot be read (${error.code ?? error.message})`);
    });
    if (info.size !== record.bytes)
      throw new Error(`${record.file} has ${info.size} bytes, the database says ${record.bytes}`);
    if (!(await checksumMatches(file, record))) throw new Error(`${record.file} does not match its checksum`);
    const vectors = new VectorIndex(record.dimension, efSearch);
    vectors.index.readIndexSync(file);
    const count = vectors.index.getCurrentCount();
    if (count !== record.count)
      throw new Error(`${record.file} holds ${count} vectors, the database says ${record.count}`);
    vectors.index.setEf(efSearch);
    vectors.throughSeq = record.throughSeq;
    return vectors;
  }

  get count(): number {
    return this.index.getCurrentCount();
  }

  /** Adds vectors (already checked for dimension) in sequence order. */
  add(entries: Iterable<{ seq: number; vector: ArrayLike<number> }>): void {
    for (const { seq, vector } of entries) {
      if (seq <= this.throughSeq) continue;
      if (this.index.getCurrentCount() >= this.index.getMaxElements())
        this.index.resizeIndex(Math.max(INITIAL_CAPACITY, this.index.getMaxElements() * 2));
      this.index.addPoint(Array.from(vector), seq);
      this.throughSeq = seq;
    }
  }

  search(vector: readonly number[], k: number): VectorHit[] {
    const count = this.index.getCurrentCount();
    if (count === 0 || k <= 0) return [];
    const { neighbors, distances } = this.index.searchKnn([...vector], Math.min(k, count));
    return neighbors.map((seq, index) => ({ seq, score: 1 - distances[index]! }));
  }

  /** The stored (normalized) vector of a paper, for exact-scan comparisons. */
  vectorOf(seq: number): number[] {
    return this.index.getPoint(seq);
  }

  /**
   * Writes the graph to `<directory>/vectors-<seq>.hnsw` durably (temp file, fsync, rename) and returns what the
   * database records about it. `beforeRename` is a test hook.
   */
  async writeCheckpoint(directory: string, beforeRename?: () => void | Promise<void>): Promise<CheckpointRecord> {
    const name = `vectors-${this.throughSeq}-${Date.now().toString(36)}.hnsw`;
    const temporary = path.join(directory, `${name}.${process.pid}.tmp`);
    await this.index.writeIndex(temporary);
    await syncFile(temporary);
    await beforeRename?.();
    const file = path.join(directory, name);
    const [bytes, checksum] = [(await stat(temporary)).size, await crc32Of(temporary)];
    await rename(temporary, file);
    await syncDirectory(directory);
    return {
      file: name,
      throughSeq: this.throughSeq,
      count: this.count,
      bytes,
      crc32: checksum,
      dimension: this.dimension,
    };
  }
}

/**
 * Whether a checkpoint still has the checksum recorded when it was written, checked before hnswlib reads it. CRC-32
 * catches a damaged or partly written file as surely as sha256 did, and reads the hundreds of MB of a 100,000-paper
 * graph about three times faster (a third of the time it took to open one). It guards against accidents, not
 * tampering; whoever can write the checkpoint can write the database that records it.
 */
async function checksumMatches(file: string, record: CheckpointRecord): Promise<boolean> {
  if (record.crc32 !== undefined) return (await crc32Of(file)) === record.crc32;
  return record.sha256 !== undefined && (await sha256Of(file)) === record.sha256;
}

async function crc32Of(file: string): Promise<number> {
  let checksum = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 }))
    checksum = crc32(chunk as Buffer, checksum);
  return checksum;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checkpoint files and leftovers of interrupted ones other than `keep`, for removal. */
export function isCheckpointFile(name: string): boolean {
  return /^vectors-\d+-[0-9a-z]+\.hnsw(\.\d+\.tmp)?$/.test(name);
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}
