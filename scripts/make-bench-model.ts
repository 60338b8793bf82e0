/**
 * Writes a BERT encoder with exactly the architecture of a real embedding model (layers, hidden size, heads,
 * intermediate size, vocabulary, positions) and random weights, in fp32 (`onnx/model.onnx`) and int8
 * (`onnx/model_quantized.onnx`), with WordPiece tokenizer files, so that transformers.js runs it as it would run the
 * real model. Its vectors mean nothing; its speed is the real model's, since the arithmetic does not depend on the
 * values of the weights. Weights cannot be downloaded on the machines papercord is benchmarked on; this can.
 *
 * The graph is the one `optimum` exports for `BertModel` (what the `Xenova/*` ONNX files are), so onnxruntime fuses it
 * the same way when it loads (attention, GELU, skip layer norm). The int8 file is what onnxruntime's
 * `quantize_dynamic` writes, which the `Xenova/*` `model_quantized.onnx` files come from: every weight MatMul becomes
 * DynamicQuantizeLinear + MatMulInteger (uint8 activations, int8 weights, per-tensor scales) and a rescale. The token
 * embedding tables stay fp32 (quantize_dynamic shrinks them too, which changes size, not speed).
 *
 *   npm run bench-model -- <directory> [gte-small|all-MiniLM-L6-v2] [SciFact corpus.jsonl.gz]
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';
import { wordPieceTokenizer, wordPieceTokenizerConfig, writeJson } from './make-fixture-model.js';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { FLOAT: FLOAT_ATTRIBUTE, INT, INTS } = onnx.AttributeProto.AttributeType;

export interface EncoderArchitecture {
  /** The real model this one has the shape of. */
  realModel: string;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabulary: number;
  maxPositions: number;
}

/** From the models' config.json files on the Hub. */
export const BENCH_ARCHITECTURES: Readonly<Record<string, EncoderArchitecture>> = Object.freeze({
  // Also bge-small-en-v1.5 and snowflake-arctic-embed-s.
  'gte-small': {
    realModel: 'Xenova/gte-small',
    layers: 12,
    hidden: 384,
    heads: 12,
    intermediate: 1536,
    vocabulary: 30522,
    maxPositions: 512,
  },
  // Also snowflake-arctic-embed-xs; mxbai-embed-xsmall-v1 has its layers with 4,096 positions.
  'all-MiniLM-L6-v2': {
    realModel: 'Xenova/all-MiniLM-L6-v2',
    layers: 6,
    hidden: 384,
    heads: 12,
    intermediate: 1536,
    vocabulary: 30522,
    maxPositions: 512,
  },
});

/** The Hub-style id the generated model answers to under the directory, e.g. `papercord-bench/gte-small`. */
export function benchModelId(name: string): string {
  return `papercord-bench/${name}`;
}

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/**
 * A WordPiece vocabulary of exactly `size` entries learned from `texts`: special tokens, every character alone and
 * as a `##` continuation, then whole words by frequency, the rarer words left to be split as BERT splits them.
 * Abstracts then come out at about the token counts BERT's own vocabulary gives (the benchmark reports them).
 */
export function learnVocabulary(texts: readonly string[], size: number): Record<string, number> {
  const wordCounts = new Map<string, number>();
  const characters = new Set<string>();
  for (const text of texts) {
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) {
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      for (const character of word) characters.add(character);
    }
  }
  const tokens = [...SPECIAL_TOKENS];
  for (const character of [...characters].sort()) tokens.push(character, `##${character}`);
  const seen = new Set(tokens);
  const byFrequency = [...wordCounts].sort((left, right) => right[1] - left[1] || (left[0] < right[0] ? -1 : 1));
  // Words seen a few times are in BERT's vocabulary too; rarer ones are split into pieces, which we add as suffixes.
  for (const [word, count] of byFrequency) {
    if (tokens.length >= size) break;
    if (count >= 4 && !seen.has(word)) {
      tokens.push(word);
      seen.add(word);
    }
  }
  for (const [word] of byFrequency) {
    for (let cut = 2; cut < word.length && tokens.length < size; cut += 3) {
      const piece = `##${word.slice(cut, cut + 3)}`;
      if (!seen.has(piece)) {
        tokens.push(piece);
        seen.add(piece);
      }
    }
    if (tokens.length >= size) break;
  }
  for (let filler = 0; tokens.length < size; filler++) tokens.push(`[unused${filler}]`);
  return Object.fromEntries(tokens.slice(0, size).map((token, id) => [token, id]));
}

/**
 * Writes `<directory>/papercord-bench/<name>/` with both weight files, unless a previous run wrote the same
 * architecture there already (the files take a few seconds and some hundred MB). Returns the model id.
 */
export async function writeBenchModel(directory: string, name: string, vocabularyTexts: readonly string[]) {
  const architecture = BENCH_ARCHITECTURES[name];
  if (!architecture) throw new Error(`no architecture named ${name} (${Object.keys(BENCH_ARCHITECTURES).join(', ')})`);
  const id = benchModelId(name);
  const modelDirectory = join(directory, id);
  const stamp = join(modelDirectory, 'architecture.json');
  const wanted = JSON.stringify({ ...architecture, format: 1 });
  const written = await readFile(stamp, 'utf8').catch(() => undefined);
  const complete = await stat(join(modelDirectory, 'onnx', 'model_quantized.onnx')).then(
    () => true,
    () => false,
  );
  if (written === wanted && complete) return id;

  await mkdir(join(modelDirectory, 'onnx'), { recursive: true });
  const vocabulary = learnVocabulary(vocabularyTexts, architecture.vocabulary);
  await writeJson(join(modelDirectory, 'config.json'), {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: architecture.hidden,
    num_attention_heads: architecture.heads,
    num_hidden_layers: architecture.layers,
    intermediate_size: architecture.intermediate,
    vocab_size: architecture.vocabulary,
    max_position_embeddings: architecture.maxPositions,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  });
  await writeJson(join(modelDirectory, 'tokenizer.json'), wordPieceTokenizer(vocabulary));
  await writeJson(join(modelDirectory, 'tokenizer_config.json'), wordPieceTokenizerConfig(architecture.maxPositions));
  await writeFile(join(modelDirectory, 'onnx', 'model.onnx'), encoderModel(architecture, false));
  await writeFile(join(modelDirectory, 'onnx', 'model_quantized.onnx'), encoderModel(architecture, true));
  await writeFile(stamp, wanted);
  return id;
}

/** Deterministic N(0, 0.02²) weights, as BERT initializes them (mulberry32 and Box-Muller). */
class RandomWeights {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  normal(count: number, deviation = 0.02): Float32Array {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index += 2) {
      const u = Math.max(this.uniform(), 1e-12);
      const v = this.uniform();
      const radius = Math.sqrt(-2 * Math.log(u)) * deviation;
      values[index] = radius * Math.cos(2 * Math.PI * v);
      if (index + 1 < count) values[index + 1] = radius * Math.sin(2 * Math.PI * v);
    }
    return values;
  }

  private uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

type Node = {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute?: Array<Record<string, unknown>>;
};
type Tensor = Record<string, unknown>;

/** Builds the graph node by node; every value gets a unique name from `next`. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;

  constructor(
    private readonly random: RandomWeights,
    private readonly quantized: boolean,
  ) {}

  next(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  op(opType: string, input: string[], attribute: Array<Record<string, unknown>> = [], output?: string): string {
    const name = output ?? this.next(opType.toLowerCase());
    this.nodes.push({ name: `${name}_node`, opType, input, output: [name], attribute });
    return name;
  }

  floats(dims: number[], values: Float32Array, prefix = 'weight'): string {
    const name = this.next(prefix);
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, rawData: bytes(values) });
    return name;
  }

  constant(values: number[], prefix = 'const'): string {
    return this.floats(values.length === 1 ? [] : [values.length], Float32Array.from(values), prefix);
  }

  int64s(values: number[], scalar = false): string {
    const name = this.next('shape');
    this.initializers.push({ name, dataType: DataType.INT64, dims: scalar ? [] : [values.length], int64Data: values });
    return name;
  }

  random_(dims: number[]): string {
    return this.floats(dims, this.random.normal(dims.reduce((product, dim) => product * dim, 1)));
  }

  /** x · W + b for a weight of [inputs, outputs]: fp32 MatMul, or quantize_dynamic's integer form. */
  linear(input: string, inputs: number, outputs: number): string {
    const weights = this.random.normal(inputs * outputs);
    const bias = this.constant(Array.from(this.random.normal(outputs)), 'bias');
    if (!this.quantized) {
      const weight = this.floats([inputs, outputs], weights);
      return this.op('Add', [this.op('MatMul', [input, weight]), bias]);
    }
    let largest = 0;
    for (const value of weights) largest = Math.max(largest, Math.abs(value));
    const scale = largest / 127;
    const quantizedWeights = Int8Array.from(weights, (value) => Math.round(value / scale));
    const weight = this.next('weight_quantized');
    this.initializers.push({
      name: weight,
      dataType: DataType.INT8,
      dims: [inputs, outputs],
      rawData: new Uint8Array(quantizedWeights.buffer),
    });
    const weightZeroPoint = this.next('weight_zero_point');
    this.initializers.push({ name: weightZeroPoint, dataType: DataType.INT8, dims: [], rawData: new Uint8Array([0]) });
    const weightScale = this.constant([scale], 'weight_scale');

    const quantizedInput = this.next('input_quantized');
    const inputScale = this.next('input_scale');
    const inputZeroPoint = this.next('input_zero_point');
    this.nodes.push({
      name: `${quantizedInput}_node`,
      opType: 'DynamicQuantizeLinear',
      input: [input],
      output: [quantizedInput, inputScale, inputZeroPoint],
    });
    const product = this.op('MatMulInteger', [quantizedInput, weight, inputZeroPoint, weightZeroPoint]);
    const asFloat = this.op('Cast', [product], [{ name: 'to', type: INT, i: DataType.FLOAT }]);
    const scale_ = this.op('Mul', [inputScale, weightScale]);
    return this.op('Add', [this.op('Mul', [asFloat, scale_]), bias]);
  }

  layerNorm(input: string, hidden: number): string {
    const gamma = this.floats([hidden], new Float32Array(hidden).fill(1), 'layer_norm_weight');
    const beta = this.floats([hidden], new Float32Array(hidden), 'layer_norm_bias');
    return this.op(
      'LayerNormalization',
      [input, gamma, beta],
      [
        { name: 'axis', type: INT, i: -1 },
        { name: 'epsilon', type: FLOAT_ATTRIBUTE, f: 1e-12 },
      ],
    );
  }
}

function bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** `BertModel`'s forward pass as optimum exports it: embeddings, then `layers` post-norm transformer layers. */
function encoderModel(architecture: EncoderArchitecture, quantized: boolean): Uint8Array {
  const { hidden, heads, intermediate, layers, vocabulary, maxPositions } = architecture;
  const headSize = hidden / heads;
  const graph = new GraphBuilder(new RandomWeights(0x5eed + layers), quantized);

  // Embeddings: word + position + token type, then layer norm.
  const words = graph.op(
    'Gather',
    [graph.random_([vocabulary, hidden]), 'input_ids'],
    [{ name: 'axis', type: INT, i: 0 }],
  );
  const length = graph.op(
    'Gather',
    [graph.op('Shape', ['input_ids']), graph.int64s([1], true)],
    [{ name: 'axis', type: INT, i: 0 }],
  );
  const positionIds = graph.op('Range', [graph.int64s([0], true), length, graph.int64s([1], true)]);
  const positions = graph.op(
    'Gather',
    [graph.random_([maxPositions, hidden]), positionIds],
    [{ name: 'axis', type: INT, i: 0 }],
  );
  const types = graph.op('Gather', [graph.random_([2, hidden]), 'token_type_ids'], [{ name: 'axis', type: INT, i: 0 }]);
  let state = graph.layerNorm(graph.op('Add', [graph.op('Add', [words, positions]), types]), hidden);

  // The attention mask as an additive bias: 0 where kept, a large negative number where padded.
  const keep = graph.op('Cast', ['attention_mask'], [{ name: 'to', type: INT, i: DataType.FLOAT }]);
  const dropped = graph.op('Sub', [graph.constant([1]), keep]);
  const bias = graph.op('Unsqueeze', [
    graph.op('Mul', [dropped, graph.constant([-3.4028234663852886e38])]),
    graph.int64s([1, 2]),
  ]);

  const splitHeads = graph.int64s([0, 0, heads, headSize]);
  const joinHeads = graph.int64s([0, 0, hidden]);
  const transpose = (input: string, perm: number[]) =>
    graph.op('Transpose', [input], [{ name: 'perm', type: INTS, ints: perm }]);
  const scale = graph.constant([Math.sqrt(headSize)]);
  for (let layer = 0; layer < layers; layer++) {
    const heads_ = (projection: string, perm: number[]) =>
      transpose(graph.op('Reshape', [projection, splitHeads]), perm);
    const query = heads_(graph.linear(state, hidden, hidden), [0, 2, 1, 3]);
    const key = heads_(graph.linear(state, hidden, hidden), [0, 2, 3, 1]);
    const value = heads_(graph.linear(state, hidden, hidden), [0, 2, 1, 3]);
    const scores = graph.op('Add', [graph.op('Div', [graph.op('MatMul', [query, key]), scale]), bias]);
    const probabilities = graph.op('Softmax', [scores], [{ name: 'axis', type: INT, i: -1 }]);
    const context = graph.op('Reshape', [
      transpose(graph.op('MatMul', [probabilities, value]), [0, 2, 1, 3]),
      joinHeads,
    ]);
    const attended = graph.layerNorm(graph.op('Add', [graph.linear(context, hidden, hidden), state]), hidden);

    const expanded = graph.linear(attended, hidden, intermediate);
    // GELU with erf, as BERT defines it: x · ½ · (1 + erf(x / √2)).
    const erf = graph.op('Erf', [graph.op('Div', [expanded, graph.constant([Math.SQRT2])])]);
    const gelu = graph.op('Mul', [
      graph.op('Mul', [expanded, graph.op('Add', [erf, graph.constant([1])])]),
      graph.constant([0.5]),
    ]);
    state = graph.layerNorm(graph.op('Add', [graph.linear(gelu, intermediate, hidden), attended]), hidden);
  }
  graph.nodes.push({ name: 'output_node', opType: 'Identity', input: [state], output: ['last_hidden_state'] });

  const batchBySequence = [{ dimParam: 'batch_size' }, { dimParam: 'sequence_length' }];
  const int64Input = (name: string) => ({
    name,
    type: { tensorType: { elemType: DataType.INT64, shape: { dim: batchBySequence } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'papercord make-bench-model',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: `${architecture.realModel} shape, random weights${quantized ? ', int8' : ''}`,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [int64Input('input_ids'), int64Input('attention_mask'), int64Input('token_type_ids')],
      output: [
        {
          name: 'last_hidden_state',
          type: {
            tensorType: { elemType: DataType.FLOAT, shape: { dim: [...batchBySequence, { dimValue: hidden }] } },
          },
        },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const [target, name = 'gte-small', corpus] = process.argv.slice(2);
  if (!target) {
    process.stderr.write(
      'usage: npm run bench-model -- <directory> [gte-small|all-MiniLM-L6-v2] [SciFact corpus.jsonl.gz]\n',
    );
    process.exit(2);
  }
  const { readCorpusPapers } = await import('../bench/embedCorpus.js');
  const papers = await readCorpusPapers(corpus);
  const id = await writeBenchModel(
    resolve(target),
    name,
    papers.map((paper) => `${paper.title} ${paper.abstract}`),
  );
  process.stdout.write(`bench model ${id} written under ${resolve(target)}\n`);
}
