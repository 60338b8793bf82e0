import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('given an empty environment, it should use the documented defaults', () => {
    const config = loadConfig({});
    expect(config.DATA_DIR).toBe('./data');
    expect(config.EMBEDDINGS).toBe('auto');
    expect(config.EMBEDDING_MODEL).toBe('Xenova/gte-small');
    expect(config.ALLOW_REMOTE_MODELS).toBe(true);
    expect(config.LLM_PROVIDER).toBe('none');
    expect(config.DISCORD_API_BASE).toBe('https://discord.com/api');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('given DENSE_WEIGHT and MIN_DENSE_SIMILARITY, it should accept 0 to 1 and name the variable otherwise', () => {
    expect(loadConfig({ DENSE_WEIGHT: '0.3', MIN_DENSE_SIMILARITY: '0.4' })).toMatchObject({
      DENSE_WEIGHT: 0.3,
      MIN_DENSE_SIMILARITY: 0.4,
    });
    expect(loadConfig({}).DENSE_WEIGHT).toBeUndefined();
    expect(() => loadConfig({ DENSE_WEIGHT: '1.5' })).toThrowError(
      new ConfigError('DENSE_WEIGHT: expected a number from 0 to 1 (got "1.5")'),
    );
    expect(() => loadConfig({ MIN_DENSE_SIMILARITY: 'high' })).toThrowError(
      new ConfigError('MIN_DENSE_SIMILARITY: expected a number from 0 to 1 (got "high")'),
    );
  });

  it('given HNSW_EF_SEARCH, it should accept a whole number from 10 to 5000 and name the variable otherwise', () => {
    expect(loadConfig({ HNSW_EF_SEARCH: '800' }).HNSW_EF_SEARCH).toBe(800);
    expect(() => loadConfig({ HNSW_EF_SEARCH: '5' })).toThrowError(
      new ConfigError('HNSW_EF_SEARCH: expected a whole number from 10 to 5000 (got "5")'),
    );
    expect(() => loadConfig({ HNSW_EF_SEARCH: 'lots' })).toThrowError(
      new ConfigError('HNSW_EF_SEARCH: expected a whole number from 10 to 5000 (got "lots")'),
    );
  });

  it('given HNSW_EF_CONSTRUCTION, it should default to 100, accept 16 to 2000 and name the variable otherwise', () => {
    expect(loadConfig({}).HNSW_EF_CONSTRUCTION).toBe(100);
    expect(loadConfig({ HNSW_EF_CONSTRUCTION: '200' }).HNSW_EF_CONSTRUCTION).toBe(200);
    expect(() => loadConfig({ HNSW_EF_CONSTRUCTION: '8' })).toThrowError(
      new ConfigError('HNSW_EF_CONSTRUCTION: expected a whole number from 16 to 2000 (got "8")'),
    );
  });

  it('given no limits set, it should use the documented limits; a bad one names the variable', () => {
    expect(loadConfig({})).toMatchObject({
      ASK_COOLDOWN_SECONDS: 10,
      ASK_BURST: 3,
      ADD_MAX_PAPERS: 20,
      ADD_COOLDOWN_SECONDS: 30,
      ADD_BURST: 20,
      LINK_PICKUP_COOLDOWN_SECONDS: 30,
      LINK_PICKUP_BURST: 20,
      INTAKE_CONCURRENCY: 1,
      INTAKE_QUEUE_MAX: 10,
      PDF_STORE_MAX_MB: 1024,
    });
    expect(() => loadConfig({ ADD_MAX_PAPERS: '0' })).toThrowError(
      new ConfigError('ADD_MAX_PAPERS: expected a number above 0 (got "0")'),
    );
    expect(() => loadConfig({ LINK_PICKUP_COOLDOWN_SECONDS: '-1' })).toThrowError(
      new ConfigError('LINK_PICKUP_COOLDOWN_SECONDS: expected 0 or more (got "-1")'),
    );
    expect(() => loadConfig({ INTAKE_QUEUE_MAX: 'many' })).toThrowError(
      new ConfigError('INTAKE_QUEUE_MAX: expected a whole number (got "many")'),
    );
  });

  it('given a bad number, it should fail with one line naming the variable and the value', () => {
    expect(() => loadConfig({ LLM_TIMEOUT_MS: 'soon' })).toThrowError(
      new ConfigError('LLM_TIMEOUT_MS: expected a whole number (got "soon")'),
    );
  });

  it('given an unknown choice, it should list the allowed values', () => {
    expect(() => loadConfig({ EMBEDDINGS: 'openai' })).toThrowError(
      'EMBEDDINGS: expected one of auto, transformers, hashing (got "openai")',
    );
  });

  it('given a bad secret, it should never print its value', () => {
    let message = '';
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^DATABASE_URL: /);
    expect(message).not.toContain('hunter2');
  });

  it('given booleans and empty strings, it should parse flags and treat empty as unset', () => {
    const config = loadConfig({
      ALLOW_REMOTE_MODELS: 'false',
      DISCORD_TOKEN: '',
      LLM_BASE_URL: 'http://127.0.0.1:8080/v1/',
    });
    expect(config.ALLOW_REMOTE_MODELS).toBe(false);
    expect(config.DISCORD_TOKEN).toBeUndefined();
    expect(config.LLM_BASE_URL).toBe('http://127.0.0.1:8080/v1');
  });
});
