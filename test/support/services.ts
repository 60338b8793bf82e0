import { it } from 'vitest';

/**
 * Whether the suites needing an outside service (PostgreSQL with pgvector, Chromium) must be left out, given why the
 * service is missing (`undefined`: it is there). On a developer's machine they skip and the reason is printed; under
 * `CI=true` a missing service is a failure naming it instead, so a broken CI setup cannot hide their tests.
 */
export function missingService(service: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') {
    it(`needs ${service}`, () => {
      throw new Error(`${service} is missing, and CI=true forbids skipping its tests: ${reason}`);
    });
  } else {
    process.stderr.write(`${service} tests skipped: ${reason}\n`);
  }
  return true;
}
