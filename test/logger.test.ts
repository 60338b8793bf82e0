import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

const SECRETS = {
  token: 'MTIzNDU2Nzg5.discord-token',
  authorization: 'Bot MTIzNDU2Nzg5.header-token',
  apiKey: 'sk-live-api-key',
  databaseUrl: 'postgres://papercord:db-password@db/papercord',
};

function loggedLines(log: (logger: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  log(createLogger({ LOG_LEVEL: 'trace' }, { destination: { write: (line: string) => void lines.push(line) } }));
  return lines.join('');
}

describe('log redaction', () => {
  it('given tokens, keys and a database URL in logged objects, top level or nested, it should print none of them', () => {
    const output = loggedLines((logger) => {
      logger.info({ token: SECRETS.token, apiKey: SECRETS.apiKey }, 'top level');
      logger.warn({ request: { headers: { authorization: SECRETS.authorization } } }, 'nested headers');
      logger.error(
        { config: { DISCORD_TOKEN: SECRETS.token, LLM_API_KEY: SECRETS.apiKey, DATABASE_URL: SECRETS.databaseUrl } },
        'config',
      );
      logger.debug(
        { DISCORD_TOKEN: SECRETS.token, LLM_API_KEY: SECRETS.apiKey, DATABASE_URL: SECRETS.databaseUrl },
        'environment',
      );
      logger.info({ client: { token: SECRETS.token, authorization: SECRETS.authorization } }, 'client');
    });

    for (const secret of Object.values(SECRETS)) expect(output).not.toContain(secret);
    expect(output.split('\n').filter(Boolean)).toHaveLength(5);
    expect(output.match(/\[redacted\]/g)).toHaveLength(11);
    expect(output).toContain('"msg":"nested headers"');
  });
});
