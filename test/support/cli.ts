import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `papercord <argv>` in-process with captured output, on the offline hashing embedder.
 * `env` names the data directory (`DATA_DIR`) and anything else the test needs; log lines are discarded.
 */
export async function runPapercord(argv: string[], env: Record<string, string>): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text) => void (stdout += text) },
    stderr: { write: (text) => void (stderr += text) },
    logDestination: { write: () => undefined },
    // Full text off unless a test turns it on: no test may reach arxiv.org.
    env: { EMBEDDINGS: 'hashing', LOG_LEVEL: 'warn', FULL_TEXT: 'off', ...env },
  });
  return { code, stdout, stderr };
}
