/**
 * No Docker engine runs here, so these tests read the Dockerfile and docker-compose.yml the way `docker build` and
 * `docker compose` would, and check that everything they name exists in the repository: files copied into the
 * image, compiled entry points (`dist/…js` mapped back to their `.ts` sources), npm scripts, and the environment
 * variables papercord reads. Renaming any of those without updating the deployment files fails here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import composeSpecSchema from '../fixtures/compose-spec/compose-spec.json' with { type: 'json' };
import { configSchema } from '../../src/config.js';

const root = join(import.meta.dirname, '..', '..');
const notSource = new Set(['node_modules', 'dist', 'data', '.git', '.cache', 'coverage', 'artifacts']);

function typeScriptFilesUnder(directory: string, prefix = ''): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory())
      return notSource.has(entry.name) ? [] : typeScriptFilesUnder(join(directory, entry.name), path);
    return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
  });
}
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
  .map((instruction) =>
    (instruction.keyword === 'HEALTHCHECK' ? healthcheckCommand(instruction) : instruction.words).join(' '),
  );

/** `HEALTHCHECK --interval=… CMD ["node", "x.js"]` → `["node", "x.js"]`. */
function healthcheckCommand(instruction: Instruction): string[] {
  const command = instruction.words.join(' ').replace(/^CMD\s+/, '');
  return command.startsWith('[') ? (JSON.parse(command) as string[]) : ['/bin/sh', '-c', command];
}

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
  it('given the build stage, it should start from node 24 slim and install from the lockfile', () => {
    expect(of(buildStage, 'FROM')[0]!.words[0]).toBe('node:24-bookworm-slim');
    const copied = of(buildStage, 'COPY').flatMap(copySources);
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
    expect(commandLines.some((line) => /\bnpm ci\b/.test(line))).toBe(true);
    expect(commandLines.some((line) => /\bnpm prune --omit=dev\b/.test(line))).toBe(true);
  });

  it('given the build stage, it should build native addons against the image headers and skip the CUDA download through the environment', () => {
    const buildEnvironment = Object.fromEntries(of(buildStage, 'ENV').flatMap(envPairs));
    expect(buildEnvironment.npm_package_config_node_gyp_nodedir).toBe('/usr/local');
    expect(buildEnvironment.ONNXRUNTIME_NODE_INSTALL_CUDA).toBe('skip');
    // npm 11 warns on every call about an unknown key in a project .npmrc ("will stop working in the next major version").
    expect(existsSync(join(root, '.npmrc'))).toBe(false);
  });

  it('given machine-specific CA certificates and npm settings, it should take them as build secrets, never into a layer', () => {
    const npmCi = of(buildStage, 'RUN').find((instruction) => /\bnpm ci\b/.test(instruction.text))!;
    expect(npmCi.text).toContain('--mount=type=secret,id=ca-certificates,');
    expect(npmCi.text).toContain('--mount=type=secret,id=npmrc,');
    const copied = allInstructions.filter((instruction) => instruction.keyword === 'COPY').flatMap(copySources);
    expect(copied.filter((source) => /npmrc|\.crt$|\.pem$|certificates/.test(source))).toEqual([]);
    expect(
      allInstructions.filter((instruction) =>
        /NODE_EXTRA_CA_CERTS|cafile/.test(instruction.keyword === 'RUN' ? '' : instruction.text),
      ),
    ).toEqual([]);
  });

  it('given no newer Dockerfile syntax is used, it should not make BuildKit pull a frontend image', () => {
    expect(read('Dockerfile')).not.toMatch(/^#\s*syntax=/m);
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
    expect(compiled).toEqual(
      expect.arrayContaining(['dist/src/main.js', 'dist/scripts/preload-model.js', 'dist/scripts/healthcheck.js']),
    );
    const runtimeDist = of(runtimeStage, 'COPY').flatMap(copySources);
    for (const file of compiled) {
      expect(existsSync(join(root, sourceOf(file))), `${file} has no source ${sourceOf(file)}`).toBe(true);
      const topDirectory = file.split('/').slice(0, 2).join('/');
      expect(runtimeDist, `${file} is run but ${topDirectory} is not copied into the runtime`).toContain(
        `/app/${topDirectory}`,
      );
    }
  });

  it('given every file the bot, the CLI, the preload script and the healthcheck import, it should be compiled in the build stage and shipped in the runtime', () => {
    const buildCopies = of(buildStage, 'COPY').flatMap(copySources);
    const runtimeCopies = of(runtimeStage, 'COPY').flatMap(copySources);
    const entries = [
      'src/main.ts',
      sourceOf(Object.values(packageJson.bin)[0]!),
      'scripts/preload-model.ts',
      'scripts/healthcheck.ts',
    ];
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

  it('given every TypeScript file the build stage compiles, its relative imports should be in the build stage too', () => {
    // `npm run build` compiles everything tsconfig includes that the context holds: one file importing a folder the
    // image leaves out (bench/, test/) fails the build, as scripts/make-bench-model.ts did until .dockerignore left it out.
    const buildCopies = of(buildStage, 'COPY').flatMap(copySources);
    // Read from the tree, not git: CI's Node 24 run works in a copy of the tracked files without a .git.
    const compiled = typeScriptFilesUnder(root).filter((file) => coveredBy(buildCopies, file) && !dockerignored(file));
    expect(compiled.length).toBeGreaterThan(50);
    for (const file of compiled) {
      const source = read(file);
      const specifiers = [
        ...source.matchAll(/(?:\sfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm),
      ];
      for (const [, specifier] of specifiers) {
        const target = posix.join(posix.dirname(file), specifier!.replace(/\.js$/, '.ts'));
        expect(
          coveredBy(buildCopies, target) && !dockerignored(target),
          `${file} imports ${specifier}, which the build stage does not have`,
        ).toBe(true);
      }
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

  it('given the HEALTHCHECK, it should run the healthcheck script, and EXPOSE should name the health and playground ports', () => {
    expect(healthcheckCommand(of(runtimeStage, 'HEALTHCHECK')[0]!)).toEqual(['node', 'dist/scripts/healthcheck.js']);
    expect(of(runtimeStage, 'EXPOSE')[0]!.words).toEqual(
      expect.arrayContaining([
        imageEnvironment.HEALTH_PORT,
        configSchema.shape.PLAYGROUND_PORT.parse(undefined).toString(),
      ]),
    );
    expect(imageEnvironment.HEALTH_HOST).toBe('0.0.0.0');
  });
});

/**
 * docker-compose.yml as Compose loads it: YAML with merge keys, `${NAME:-default}` read from the environment and
 * `.env`, the services of the active profiles. With no Compose binary on this machine, the result is validated against
 * the Compose Specification's JSON schema as compose-go (what `docker compose config` runs) ships it, vendored in
 * test/fixtures/compose-spec.
 */
describe('docker-compose.yml', () => {
  interface ComposeService {
    build?: { context: string; args?: Record<string, string> };
    environment?: Record<string, string>;
    volumes?: string[];
    ports?: string[];
    profiles?: string[];
    image?: string;
    entrypoint?: string[];
    command?: string | string[];
    healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }> | string[];
  }
  interface ComposeFile {
    services: Record<string, ComposeService>;
    [key: string]: unknown;
  }
  const source = read('docker-compose.yml');
  const raw = parseYaml(source, { merge: true }) as ComposeFile;

  /** Compose's interpolation: `$$` is a dollar; `${A:-d}` is d when A is unset or empty, `${A-d}` when unset. */
  function interpolate(text: string, env: Record<string, string>): string {
    let result = text.replace(/\$\$/g, '\u0000');
    for (let previous = ''; previous !== result;) {
      previous = result;
      result = result.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^${}]*))?\}/g,
        (_, name: string, colon, fallback) => {
          const value = env[name];
          if (fallback === undefined) return value ?? '';
          return value === undefined || (colon === ':' && value === '') ? fallback : value;
        },
      );
    }
    return result.replaceAll('\u0000', '$');
  }
  function interpolateAll(value: unknown, env: Record<string, string>): unknown {
    if (typeof value === 'string') return interpolate(value, env);
    if (Array.isArray(value)) return value.map((item) => interpolateAll(item, env));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateAll(item, env)]));
    return value;
  }
  /** What Compose runs with these profiles and this `.env`: services without profiles, plus those of the profiles. */
  function load(profiles: string[] = [], env: Record<string, string> = {}): ComposeFile {
    const file = interpolateAll(raw, env) as ComposeFile;
    const services = Object.fromEntries(
      Object.entries(file.services).filter(
        ([, service]) => !service.profiles || service.profiles.some((profile) => profiles.includes(profile)),
      ),
    );
    return { ...file, services };
  }
  const profiles = [...new Set(Object.values(raw.services).flatMap((service) => service.profiles ?? []))];
  const bot = load().services.papercord!;

  it('given each profile, the file Compose loads should match the Compose Specification, and each service it depends on should be in the same profile', () => {
    expect(profiles.sort()).toEqual(['ollama', 'pgvector', 'playground']);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(composeSpecSchema);
    for (const active of [[], ...profiles.map((profile) => [profile])]) {
      const file = load(active);
      expect(validate(file), `profile ${active[0] ?? '(none)'}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      for (const [name, service] of Object.entries(file.services)) {
        const dependencies = Array.isArray(service.depends_on)
          ? service.depends_on
          : Object.keys(service.depends_on ?? {});
        for (const dependency of dependencies)
          expect(Object.keys(file.services), `${name} depends on ${dependency}`).toContain(dependency);
      }
    }
  });

  it('given the bot service, it should build this Dockerfile with arguments the Dockerfile declares', () => {
    expect(statSync(join(root, bot.build!.context, 'Dockerfile')).isFile()).toBe(true);
    const declared = allInstructions
      .filter((instruction) => instruction.keyword === 'ARG')
      .map((instruction) => instruction.words[0]!.split('=')[0]);
    for (const argument of Object.keys(bot.build!.args ?? {})) expect(declared).toContain(argument);
  });

  it('given the bot and playground environments, they should set only variables papercord reads', () => {
    for (const service of [raw.services.papercord!, raw.services.playground!]) {
      const names = Object.keys(service.environment ?? {});
      expect(names.length).toBeGreaterThan(3);
      for (const name of names) expect(configVariables, `${name} is not in src/config.ts`).toContain(name);
    }
  });

  it('given settings in .env, they should win over every default except the container-fixed paths and ports', () => {
    const fixedInContainer = ['DATA_DIR', 'MODEL_CACHE_DIR', 'HEALTH_PORT', 'HEALTH_HOST'];
    for (const [name, value] of Object.entries(raw.services.papercord!.environment!)) {
      if (fixedInContainer.includes(name)) continue;
      expect(value, `${name} is hard-coded: a value in .env would not reach the bot`).toMatch(
        new RegExp(`^\\$\\{${name}(:?-.*)?\\}$`),
      );
    }
    const dotEnv = {
      OLLAMA_BASE_URL: 'http://gpu-box.lan:11434',
      LLM_PROVIDER: 'ollama',
      LLM_MODEL: 'qwen2.5:7b',
      VECTOR_STORE: 'pgvector',
      DATABASE_URL: 'postgres://me@db.lan:5432/papers',
    };
    expect(load(['ollama'], dotEnv).services.papercord!.environment).toMatchObject(dotEnv);
    expect(load(['ollama'], dotEnv).services['ollama-pull']!.entrypoint).toEqual(['ollama', 'pull', 'qwen2.5:7b']);
  });

  it('given no .env, the bot should default to extractive answers and reach Ollama and PostgreSQL by service name', () => {
    expect(bot.environment!.LLM_PROVIDER).toBe('none');
    expect(new URL(bot.environment!.OLLAMA_BASE_URL!).host).toBe('ollama:11434');
    expect(bot.environment!.DATABASE_URL).toContain('@postgres:5432/');
    expect(load(['ollama']).services['ollama-pull']!.entrypoint).toEqual(['ollama', 'pull', 'llama3.2']);
  });

  it('given the bot volumes, it should mount the data and model folders the image declares', () => {
    const targets = (bot.volumes ?? []).map((volume) => volume.split(':')[1]);
    expect(targets).toEqual(expect.arrayContaining([imageEnvironment.DATA_DIR, imageEnvironment.MODEL_CACHE_DIR]));
  });

  it('given the playground profile, it should force playground mode, serve it on a loopback-published 3000 and keep a library of its own', () => {
    const playground = load(['playground'], { DISCORD_TOKEN: 'a-token-in-env' }).services.playground!;
    expect(playground.environment).toMatchObject({
      DISCORD_TOKEN: '',
      PLAYGROUND_HOST: '0.0.0.0',
      PLAYGROUND_PORT: '3000',
    });
    expect(playground.ports).toContain('127.0.0.1:3000:3000');
    const dataVolume = (service: ComposeService) => service.volumes!.find((volume) => volume.endsWith(':/data'));
    expect(dataVolume(playground)).toBeDefined();
    expect(dataVolume(playground)).not.toBe(dataVolume(bot));
  });

  it('given the ollama profile, the model should be pulled once Ollama reports ready, not after a sleep', () => {
    const file = load(['ollama']);
    expect(file.services.ollama!.healthcheck!.test).toEqual(['CMD', 'ollama', 'list']);
    expect(file.services['ollama-pull']!.depends_on).toEqual({ ollama: { condition: 'service_healthy' } });
    expect(source).not.toMatch(/\bsleep\b/);
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
