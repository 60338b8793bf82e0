/**
 * Writes tiny BERT-shaped models that transformers.js loads like any Hugging Face model, with no download:
 * `config.json`, `tokenizer.json`, `tokenizer_config.json` and `onnx/model.onnx` (the file transformers.js 3.8
 * picks for dtype fp32). Tests can compute exactly what the feature-extraction pipeline must return:
 * - `papercord/tiny-bert`: one ONNX Gather, the hidden state of each token is its row of `FIXTURE_EMBEDDING_TABLE`;
 * - `papercord/tiny-bert-contextual`: each token's state is the sum of the rows of the real (unmasked) tokens from it
 *   to the end, so the first token's state ([CLS]) depends on the whole text, as in a real encoder, and CLS pooling
 *   can be told from mean pooling.
 *
 *   npm run fixture-model -- <directory>     (writes <directory>/papercord/tiny-bert/… and …/tiny-bert-contextual/…)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The id tests give to transformers.js; it must look like a Hub id for transformers.js to search local paths. */
export const FIXTURE_MODEL_ID = 'papercord/tiny-bert';
/** The contextual fixture (see above). */
export const FIXTURE_CONTEXTUAL_MODEL_ID = 'papercord/tiny-bert-contextual';
export const FIXTURE_HIDDEN_SIZE = 8;
export const FIXTURE_MAX_LENGTH = 32;

/** WordPiece vocabulary: the special tokens first (ids 0 to 4), then whole words, then one suffix piece. */
export const FIXTURE_VOCABULARY: readonly string[] = Object.freeze([
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'attention',
  'transformer',
  'model',
  'language',
  'neural',
  'network',
  'graph',
  'retrieval',
  'paper',
  'learning',
  'image',
  'vision',
  'speech',
  'data',
  'large',
  'small',
  'sparse',
  'dense',
  'is',
  'all',
  'you',
  'need',
  '##s',
  // For prefixes such as E5's "query: " and "passage: ".
  'query',
  'passage',
  ':',
]);

export const FIXTURE_TOKEN_IDS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(FIXTURE_VOCABULARY.map((token, id) => [token, id])),
);

/**
 * One row per vocabulary entry. Values are deterministic, of both signs and exactly representable in float32
 * (multiples of 1/1024), so expected outputs computed in JavaScript match the ONNX runtime's arithmetic closely.
 * The [PAD] row is far from zero on purpose: a pipeline that forgot the attention mask would be caught.
 */
export const FIXTURE_EMBEDDING_TABLE: readonly (readonly number[])[] = Object.freeze(
  FIXTURE_VOCABULARY.map((_token, row) =>
    Object.freeze(
      Array.from({ length: FIXTURE_HIDDEN_SIZE }, (_unused, column) =>
        row === 0 ? 4 : Math.round(Math.sin((row + 1) * (column + 2) * 0.37) * 1024) / 1024,
      ),
    ),
  ),
);

/**
 * Writes the model into `<directory>/<FIXTURE_MODEL_ID>` (or the contextual one into
 * `<directory>/<FIXTURE_CONTEXTUAL_MODEL_ID>`) and returns that path.
 */
export async function writeFixtureModel(directory: string, { contextual = false } = {}): Promise<string> {
  const modelDirectory = join(directory, contextual ? FIXTURE_CONTEXTUAL_MODEL_ID : FIXTURE_MODEL_ID);
  await mkdir(join(modelDirectory, 'onnx'), { recursive: true });
  await Promise.all([
    writeJson(join(modelDirectory, 'config.json'), modelConfig()),
    writeJson(join(modelDirectory, 'tokenizer.json'), wordPieceTokenizer(FIXTURE_TOKEN_IDS)),
    writeJson(join(modelDirectory, 'tokenizer_config.json'), wordPieceTokenizerConfig(FIXTURE_MAX_LENGTH)),
    writeFile(join(modelDirectory, 'onnx', 'model.onnx'), onnxModel(contextual)),
  ]);
  return modelDirectory;
}

function modelConfig() {
  return {
    model_type: 'bert',
    architectures: ['BertModel'],
    hidden_size: FIXTURE_HIDDEN_SIZE,
    num_attention_heads: 1,
    num_hidden_layers: 1,
    intermediate_size: FIXTURE_HIDDEN_SIZE,
    vocab_size: FIXTURE_VOCABULARY.length,
    max_position_embeddings: FIXTURE_MAX_LENGTH,
    type_vocab_size: 2,
    pad_token_id: FIXTURE_TOKEN_IDS['[PAD]'],
  };
}

/** A BERT-style (uncased) WordPiece `tokenizer.json` over `vocabulary`, which must hold the five special tokens. */
export function wordPieceTokenizer(vocabulary: Readonly<Record<string, number>>) {
  const special = (token: string) => ({
    id: vocabulary[token],
    content: token,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const specialToken = (token: string) => ({ SpecialToken: { id: token, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [specialToken('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, specialToken('[SEP]')],
      pair: [
        specialToken('[CLS]'),
        { Sequence: { id: 'A', type_id: 0 } },
        specialToken('[SEP]'),
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((token) => [token, { id: token, ids: [vocabulary[token]], tokens: [token] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: vocabulary,
    },
  };
}

export function wordPieceTokenizerConfig(maxLength: number) {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: true,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
}

/**
 * last_hidden_state = Gather(FIXTURE_EMBEDDING_TABLE, input_ids); the mask and token types are declared, unused.
 * Contextual: the gathered rows times the attention mask, summed from each position to the end (reverse CumSum).
 */
function onnxModel(contextual: boolean): Uint8Array {
  const { DataType } = onnx.TensorProto;
  const batchBySequence = [{ dimParam: 'batch_size' }, { dimParam: 'sequence_length' }];
  const int64Input = (name: string) => ({
    name,
    type: { tensorType: { elemType: DataType.INT64, shape: { dim: batchBySequence } } },
  });
  const graph = {
    name: 'tiny_bert',
    initializer: [
      {
        name: 'embedding_table',
        dataType: DataType.FLOAT,
        dims: [FIXTURE_VOCABULARY.length, FIXTURE_HIDDEN_SIZE],
        floatData: FIXTURE_EMBEDDING_TABLE.flat(),
      },
      ...(contextual
        ? [
            { name: 'unsqueeze_axes', dataType: DataType.INT64, dims: [1], int64Data: [2] },
            { name: 'sequence_axis', dataType: DataType.INT64, dims: [], int64Data: [1] },
          ]
        : []),
    ],
    node: [
      {
        name: 'token_embeddings',
        opType: 'Gather',
        input: ['embedding_table', 'input_ids'],
        output: [contextual ? 'token_rows' : 'last_hidden_state'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      },
      ...(contextual ? contextualNodes() : []),
    ],
    input: [int64Input('input_ids'), int64Input('attention_mask'), int64Input('token_type_ids')],
    output: [
      {
        name: 'last_hidden_state',
        type: {
          tensorType: {
            elemType: DataType.FLOAT,
            shape: { dim: [...batchBySequence, { dimValue: FIXTURE_HIDDEN_SIZE }] },
          },
        },
      },
    ],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'papercord make-fixture-model',
    opsetImport: [{ domain: '', version: 13 }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

function contextualNodes() {
  const { INT } = onnx.AttributeProto.AttributeType;
  return [
    {
      name: 'mask_as_float',
      opType: 'Cast',
      input: ['attention_mask'],
      output: ['mask_float'],
      attribute: [{ name: 'to', type: INT, i: onnx.TensorProto.DataType.FLOAT }],
    },
    { name: 'mask_column', opType: 'Unsqueeze', input: ['mask_float', 'unsqueeze_axes'], output: ['mask_3d'] },
    { name: 'masked_rows', opType: 'Mul', input: ['token_rows', 'mask_3d'], output: ['kept_rows'] },
    {
      name: 'sum_to_end',
      opType: 'CumSum',
      input: ['kept_rows', 'sequence_axis'],
      output: ['last_hidden_state'],
      attribute: [{ name: 'reverse', type: INT, i: 1 }],
    },
  ];
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write('usage: npm run fixture-model -- <directory>\n');
    process.exit(2);
  }
  for (const contextual of [false, true]) {
    const written = await writeFixtureModel(resolve(target), { contextual });
    process.stdout.write(`fixture model written to ${written}\n`);
  }
}
