/** One `npm run bench -- <name> [args]` benchmark, in `bench/<name>.ts`. */
export interface Benchmark {
  readonly name: string;
  readonly summary: string;
  /** Resolves to the exit code (0 when omitted). Results on stdout, progress on stderr. */
  run(args: string[]): Promise<number | void>;
}
