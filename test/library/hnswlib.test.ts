import path from 'node:path';
import stock from 'hnswlib-node';
import { afterEach, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { BUILD_CPU_FLAGS, chooseBuild, cpuFlags, hnswlibBuild } from '../../src/library/sqlite/hnswlib.js';
import { seededVectors } from '../support/vectors.js';
import { temporaryDirectory } from './support.js';

const AVX512_CPU = new Set(['sse4_2', ...BUILD_CPU_FLAGS.avx512]);
const AVX2_CPU = new Set(['sse4_2', 'avx', 'avx2', 'fma']);
const OLD_CPU = new Set(['sse4_2', 'avx']);
const BOTH = new Set(['avx2', 'avx512'] as const);

describe('choosing the hnswlib build', () => {
  it('given a CPU with AVX-512 and both builds installed, auto should take the AVX-512 build', () => {
    expect(chooseBuild({ setting: 'auto', flags: AVX512_CPU, available: BOTH })).toEqual({ name: 'avx512' });
  });

  it('given a CPU with AVX2 only, auto should take the AVX2 build, and on an older CPU the stock build, silently', () => {
    expect(chooseBuild({ setting: 'auto', flags: AVX2_CPU, available: BOTH })).toEqual({ name: 'avx2' });
    expect(chooseBuild({ setting: 'auto', flags: OLD_CPU, available: BOTH })).toEqual({ name: 'stock' });
  });

  it('given an AVX-512 CPU whose install made no extra builds, auto should run the stock build and say why', () => {
    const choice = chooseBuild({ setting: 'auto', flags: AVX512_CPU, available: new Set() });
    expect(choice.name).toBe('stock');
    expect(choice.note).toMatch(/avx512 build .* not made at install/);
  });

  it('given HNSW_SIMD naming a build this CPU cannot run, it should refuse with the missing CPU features', () => {
    expect(() => chooseBuild({ setting: 'avx512', flags: AVX2_CPU, available: BOTH })).toThrow(UserError);
    expect(() => chooseBuild({ setting: 'avx512', flags: AVX2_CPU, available: BOTH })).toThrow(
      /lacks avx512f, avx512dq, avx512bw, avx512vl/,
    );
    expect(() => chooseBuild({ setting: 'avx2', flags: AVX2_CPU, available: new Set() })).toThrow(
      /not made at install/,
    );
  });

  it('given HNSW_SIMD=off, it should keep the stock build on any CPU', () => {
    expect(chooseBuild({ setting: 'off', flags: AVX512_CPU, available: BOTH })).toEqual({ name: 'stock' });
  });

  it('given /proc/cpuinfo text, it should read the flags of its flags line', () => {
    const flags = cpuFlags(
      'processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse4_2 avx2 fma\nbugs\t\t: spectre\n',
    );
    expect([...flags]).toEqual(['fpu', 'sse4_2', 'avx2', 'fma']);
    expect(cpuFlags('').size).toBe(0);
  });
});

describe('the hnswlib build in use', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('given this machine, it should load the fastest build its CPU runs (the install builds them on x64 Linux)', () => {
    const flags = cpuFlags();
    const expected =
      process.platform === 'linux' && process.arch === 'x64' && BUILD_CPU_FLAGS.avx512.every((flag) => flags.has(flag))
        ? 'avx512'
        : process.platform === 'linux' &&
            process.arch === 'x64' &&
            BUILD_CPU_FLAGS.avx2.every((flag) => flags.has(flag))
          ? 'avx2'
          : 'stock';
    expect(hnswlibBuild().name).toBe(expected);
    expect(hnswlibBuild().note).toBeUndefined();
  });

  it('given a graph written by the build in use, the stock build should read it and find the same nearest vectors', async () => {
    const directory = await temporaryDirectory('papercord-hnswlib-');
    cleanups.push(directory.remove);
    const dimension = 64;
    const vectors = seededVectors(500, dimension, 7);
    const queries = seededVectors(20, dimension, 8);
    const fast = new (hnswlibBuild().binding.HierarchicalNSW)('cosine', dimension);
    fast.initIndex(vectors.length, 16, 200, 100);
    vectors.forEach((vector, label) => fast.addPoint(vector, label));
    const file = path.join(directory.path, 'graph.hnsw');
    await fast.writeIndex(file);

    const read = new stock.HierarchicalNSW('cosine', dimension);
    read.readIndexSync(file);
    fast.setEf(64);
    read.setEf(64);
    for (const query of queries) {
      const expected = fast.searchKnn(query, 10);
      const found = read.searchKnn(query, 10);
      expect(found.neighbors).toEqual(expected.neighbors);
      found.distances.forEach((distance, index) => expect(distance).toBeCloseTo(expected.distances[index]!, 5));
    }
  });

  it('given the same vectors, the build in use and the stock build should agree on the exact nearest ones', () => {
    const dimension = 1024;
    const vectors = seededVectors(300, dimension, 11);
    const queries = seededVectors(10, dimension, 12);
    const exact = (binding: typeof stock) => {
      const index = new binding.BruteforceSearch('cosine', dimension);
      index.initIndex(vectors.length);
      vectors.forEach((vector, label) => index.addPoint(vector, label));
      return queries.map((query) => index.searchKnn(query, 5).neighbors);
    };
    expect(exact(hnswlibBuild().binding)).toEqual(exact(stock));
  });
});
