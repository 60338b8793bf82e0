/**
 * No Docker engine runs here, so these tests read the Dockerfile and docker-compose.yml the way `docker build` and
 * `docker compose` would, and check that everything they name exists in the repository: files copied into the
 * image, compiled entry points (`dist/…js` mapped back to their `.ts` sources), npm scripts, and the environment
 * variables papercord reads. Renaming any of those without updating the deployment files fails here.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../../src/config.js';
import { HEALTHZ_PATH } from '../../src/ops/health.js';

const root = join(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');

interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  text: string;
  /** `--from=build` style flags, by name. */
  flags: Record<string, string>;
  /** Shell words after the flags (or the elements of a JSON exec form). */
  words: string[];
}

interface Stage {
  name: string;
  instructions: Instruction[];
}

function parseDockerfile(source: string): Stage[] {
  const logicalLines = source
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logicalLines) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const flags: Record<string, string> = {};
    let remainder = rest;
    for (let flag = /^--([\w-]+)=(\S+)\s*/.exec(remainder); flag; flag = /^--([\w-]+)=(\S+)\s*/.exec(remainder)) {
      flags[flag[1]!] = flag[2]!;
      remainder = remainder.slice(flag[0].length);
    }
    const words = remainder.startsWith('[') ? (JSON.parse(remainder) as string[]) : remainder.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), text: rest, flags, words };
    if (instruction.keyword === 'FROM') stages.push({ name: words[2] ?? String(stages.length), instructions: [] });
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const buildStage = dockerfile.find((stage) => stage.name === 'build')!;
const runtimeStage = dockerfile.at(-1)!;
const allInstructions = dockerfile.flatMap((stage) => stage.instructions);
const of = (stage: Stage, keyword: string) =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword);

/** `COPY a b ./dest` → `[a, b]`. */
const copySources = (instruction: Instruction) => instruction.words.slice(0, -1);

/** `KEY=value KEY2=value` (ENV) → pairs. */
function envPairs(instruction: Instruction): [string, string][] {
  return instruction.words.map((word) => word.split('=', 2) as [string, string]);
}
const imageEnvironment = Object.fromEntries(of(runtimeStage, 'ENV').flatMap(envPairs));

/** Command lines the image runs: RUN, CMD, HEALTHCHECK, in both stages. */
const commandLines = allInstructions
  .filter((instruction) => ['RUN', 'CMD', 'HEALTHCHECK', 'ENTRYPOINT'].includes(instruction.keyword))
  .map((instruction) => instruction.words.join(' '));

const packageJson = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
};
const configVariables = new Set(Object.keys(configSchema.shape));

/** `dist/src/main.js` → `src/main.ts` (tsconfig: rootDir `.`, outDir `dist`). */
const sourceOf = (compiled: string): string => compiled.replace(/^dist\//, '').replace(/\.js$/, '.ts');

/** Every repository file `entry` (a `.ts` path) loads at run time through relative imports, itself included. */
function localImportClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = read(file);
    // Type-only imports vanish from the compiled JavaScript.
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm),
    ];
    for (const [, specifier] of specifiers) {
      const target = relative(root, join(root, dirname(file), specifier!.replace(/\.js$/, '.ts')));
      if (existsSync(join(root, target))) pending.push(target.split('\\').join('/'));
    }
  }
  return seen;
}

/** Last matching line wins, as in Docker: `!path` lets back in what an earlier line excluded. */
function dockerignored(path: string): boolean {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    if (path === body || path.startsWith(`${body}/`)) ignored = !negated;
  }
  return ignored;
}

/** Whether `file` lies in one of the copied paths (`src`, `commands`, …). */
const coveredBy = (copied: readonly string[], file: string): boolean =>
  copied.some((source) => file === source || file.startsWith(`${source}/`));

describe('Dockerfile', () => {
  it('given the build stage, it should start from node 24 slim and install with the lockfile and .npmrc', () => {
    expect(of(buildStage, 'FROM')[0]!.words[0]).toBe('node:24-bookworm-slim');
    const copied = of(buildStage, 'COPY').flatMap(copySources);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc']));
    expect(commandLines.some((line) => /\bnpm ci\b/.test(line))).toBe(true);
    expect(commandLines.some((line) => /\bnpm prune --omit=dev\b/.test(line))).toBe(true);
  });

  it('given every COPY from the build context, it should name files that exist and that .dockerignore lets through', () => {
    const sources = allInstructions
      .filter((instruction) => instruction.keyword === 'COPY' && instruction.flags.from === undefined)
      .flatMap(copySources);
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(root, source)), `${source} is copied into the image but does not exist`).toBe(true);
      expect(dockerignored(source), `${source} is copied into the image but .dockerignore excludes it`).toBe(false);
    }
  });

  it('given every COPY from the build stage, it should copy what that stage builds from the repository', () => {
    const buildCopies = of(buildStage, 'COPY').flatMap(copySources);
    const fromBuild = of(runtimeStage, 'COPY').filter((instruction) => instruction.flags.from === 'build');
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const source of fromBuild.flatMap(copySources)) {
      const inApp = posix.relative('/app', source);
      if (inApp === 'node_modules') continue; // made by `npm ci`, checked above
      const original = inApp.startsWith('dist/') ? inApp.slice('dist/'.length) : inApp;
      expect(existsSync(join(root, original)), `${source} comes from ${original}, which does not exist`).toBe(true);
      expect(coveredBy(buildCopies, original), `${original} is not copied into the build stage`).toBe(true);
    }
  });

  it('given every compiled script the image runs, it should map back to a TypeScript source that is built', () => {
    const compiled = commandLines.flatMap((line) =>
      [...line.matchAll(/\bnode (dist\/\S+\.js)/g)].map((match) => match[1]!),
    );
    expect(compiled).toEqual(expect.arrayContaining(['dist/src/main.js', 'dist/scripts/preload-model.js']));
    const runtimeDist = of(runtimeStage, 'COPY').flatMap(copySources);
    for (const file of compiled) {
      expect(existsSync(join(root, sourceOf(file))), `${file} has no source ${sourceOf(file)}`).toBe(true);
      const topDirectory = file.split('/').slice(0, 2).join('/');
      expect(runtimeDist, `${file} is run but ${topDirectory} is not copied into the runtime`).toContain(
        `/app/${topDirectory}`,
      );
    }
  });

  it('given every file the bot, the CLI and the preload script import, it should be compiled in the build stage and shipped in the runtime', () => {
    const buildCopies = of(buildStage, 'COPY').flatMap(copySources);
    const runtimeCopies = of(runtimeStage, 'COPY').flatMap(copySources);
    const entries = ['src/main.ts', sourceOf(Object.values(packageJson.bin)[0]!), 'scripts/preload-model.ts'];
    const files = new Set(entries.flatMap((entry) => [...localImportClosure(entry)]));
    expect(files.size).toBeGreaterThan(entries.length);
    const shipped = runtimeCopies
      .filter((source) => source.startsWith('/app/dist/'))
      .map((source) => source.slice('/app/dist/'.length));
    for (const file of files) {
      expect(coveredBy(buildCopies, file), `${file} is imported at run time but not copied into the build stage`).toBe(
        true,
      );
      expect(
        coveredBy(shipped, file),
        `${file} is imported at run time but its compiled file is not in the runtime image`,
      ).toBe(true);
      expect(dockerignored(file), `${file} is imported at run time but .dockerignore excludes it`).toBe(false);
    }
  });

  it('given the files read at run time beside the code, it should ship each of them in the runtime image', () => {
    // Found from dist/src through paths relative to the package root: prompts/*.md, seeds/, the playground page.
    const assets = ['prompts', 'seeds', 'src/playground/public'];
    const runtimeCopies = of(runtimeStage, 'COPY')
      .filter((instruction) => instruction.flags.from === undefined)
      .flatMap(copySources);
    for (const asset of assets) {
      expect(statSync(join(root, asset)).isDirectory(), `${asset} is gone; update the Dockerfile`).toBe(true);
      expect(runtimeCopies, `${asset} is read at run time but not copied into the image`).toContain(asset);
    }
  });

  it('given the package bin, it should point at a CLI entry that the runtime image contains', () => {
    const cli = Object.values(packageJson.bin)[0]!;
    expect(existsSync(join(root, sourceOf(cli))), `${cli} has no source ${sourceOf(cli)}`).toBe(true);
    expect(of(runtimeStage, 'COPY').flatMap(copySources)).toContain(`/app/${cli.split('/').slice(0, 2).join('/')}`);
  });

  it('given every npm script the image runs, it should exist in package.json', () => {
    const scripts = commandLines.flatMap((line) => [...line.matchAll(/\bnpm run (\S+)/g)].map((match) => match[1]!));
    expect(scripts).toContain('build');
    for (const script of scripts) expect(Object.keys(packageJson.scripts)).toContain(script);
  });

  it('given the runtime environment, it should set only variables papercord reads, with data and models as volumes', () => {
    for (const name of Object.keys(imageEnvironment).filter((variable) => variable !== 'NODE_ENV')) {
      expect(configVariables, `ENV ${name} is not in src/config.ts`).toContain(name);
    }
    const volumes = of(runtimeStage, 'VOLUME').flatMap((instruction) => instruction.words);
    expect(volumes).toEqual(expect.arrayContaining([imageEnvironment.DATA_DIR, imageEnvironment.MODEL_CACHE_DIR]));
  });

  it('given the runtime stage, it should run as the unprivileged node user and start the bot', () => {
    expect(of(runtimeStage, 'USER').at(-1)?.words[0]).toBe('node');
    expect(of(runtimeStage, 'CMD').at(-1)?.words).toEqual(['node', 'dist/src/main.js']);
  });

  it('given the preload build argument, it should download the model before the volume is declared', () => {
    const keywords = runtimeStage.instructions.map((instruction) => instruction.keyword);
    const preloadRun = runtimeStage.instructions.findIndex((instruction) => instruction.text.includes('preload-model'));
    expect(of(runtimeStage, 'ARG').map((instruction) => instruction.words[0])).toContain('PRELOAD_MODEL=false');
    expect(preloadRun).toBeGreaterThan(-1);
    // Docker discards what a RUN writes into a path already declared a VOLUME.
    expect(preloadRun).toBeLessThan(keywords.indexOf('VOLUME'));
  });

  it('given the HEALTHCHECK, it should ask the health server path on HEALTH_PORT, which the image sets and exposes', () => {
    const healthcheck = of(runtimeStage, 'HEALTHCHECK')[0]!.words.join(' ');
    expect(healthcheck).toContain(HEALTHZ_PATH);
    expect(healthcheck).toContain('process.env.HEALTH_PORT');
    expect(of(runtimeStage, 'EXPOSE')[0]!.words).toContain(imageEnvironment.HEALTH_PORT);
    expect(imageEnvironment.HEALTH_HOST).toBe('0.0.0.0');
  });
});

describe('docker-compose.yml', () => {
  interface ComposeService {
    build?: { context: string; args?: Record<string, string> };
    environment?: Record<string, string>;
    volumes?: string[];
    profiles?: string[];
    image?: string;
  }
  const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, ComposeService> };
  const bot = compose.services.papercord!;

  it('given the bot service, it should build this Dockerfile with arguments the Dockerfile declares', () => {
    expect(statSync(join(root, bot.build!.context, 'Dockerfile')).isFile()).toBe(true);
    const declared = allInstructions
      .filter((instruction) => instruction.keyword === 'ARG')
      .map((instruction) => instruction.words[0]!.split('=')[0]);
    for (const argument of Object.keys(bot.build!.args ?? {})) expect(declared).toContain(argument);
  });

  it('given the bot environment, it should set only variables papercord reads', () => {
    const names = Object.keys(bot.environment ?? {});
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) expect(configVariables, `${name} is not in src/config.ts`).toContain(name);
  });

  it('given the bot volumes, it should mount the data and model folders the image declares', () => {
    const targets = (bot.volumes ?? []).map((volume) => volume.split(':')[1]);
    expect(targets).toEqual(expect.arrayContaining([imageEnvironment.DATA_DIR, imageEnvironment.MODEL_CACHE_DIR]));
  });

  it('given the optional Ollama and pgvector services, it should wire the bot to them by service name', () => {
    const ollama = compose.services.ollama!;
    const postgres = compose.services.postgres!;
    expect(ollama.profiles).toEqual(['ollama']);
    expect(postgres.profiles).toEqual(['pgvector']);
    expect(new URL(bot.environment!.OLLAMA_BASE_URL!).host).toBe('ollama:11434');
    expect(bot.environment!.DATABASE_URL).toContain('@postgres:5432/');
    expect(bot.environment!.LLM_PROVIDER).toMatch(/^\$\{LLM_PROVIDER:-none\}$/);
  });
});

describe('the supported runtimes', () => {
  it('given Node 24 as the reference runtime, the image, the runtime CI pins and package.json engines should all name it', () => {
    const imageMajors = of(buildStage, 'FROM')
      .concat(of(runtimeStage, 'FROM'))
      .map((instruction) => /^node:(\d+)-/.exec(instruction.words[0]!)?.[1]);
    expect(imageMajors).toEqual(['24', '24']);
    const pinned = /^NODE24_VERSION=(\d+)\.\d+\.\d+$/m.exec(read('.ci/run'))?.[1];
    expect(pinned).toBe('24');
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines.split('||').map((range) => /\^(\d+)\./.exec(range.trim())?.[1])).toEqual(['20', '24']);
  });
});
