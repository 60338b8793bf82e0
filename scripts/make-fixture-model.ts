/**
 * Writes a tiny BERT-shaped model that transformers.js loads like any Hugging Face model, with no download:
 * `config.json`, `tokenizer.json`, `tokenizer_config.json` and `onnx/model.onnx` (the file transformers.js 3.8
 * picks for dtype fp32). The network is one ONNX Gather: the hidden state of each token is its row of
 * `FIXTURE_EMBEDDING_TABLE`, so tests can compute exactly what the feature-extraction pipeline must return.
 *
 *   npm run fixture-model -- <directory>     (writes <directory>/papercord/tiny-bert/…)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The id tests give to transformers.js; it must look like a Hub id for transformers.js to search local paths. */
export const FIXTURE_MODEL_ID = 'papercord/tiny-bert';
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

/** Writes the model into `<directory>/<FIXTURE_MODEL_ID>` and returns that path. */
export async function writeFixtureModel(directory: string): Promise<string> {
  const modelDirectory = join(directory, FIXTURE_MODEL_ID);
  await mkdir(join(modelDirectory, 'onnx'), { recursive: true });
  await Promise.all([
    writeJson(join(modelDirectory, 'config.json'), modelConfig()),
    writeJson(join(modelDirectory, 'tokenizer.json'), tokenizerDefinition()),
    writeJson(join(modelDirectory, 'tokenizer_config.json'), tokenizerConfig()),
    writeFile(join(modelDirectory, 'onnx', 'model.onnx'), onnxModel()),
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

function tokenizerDefinition() {
  const special = (token: string) => ({
    id: FIXTURE_TOKEN_IDS[token],
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
        ['[CLS]', '[SEP]'].map((token) => [token, { id: token, ids: [FIXTURE_TOKEN_IDS[token]], tokens: [token] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: FIXTURE_TOKEN_IDS,
    },
  };
}

function tokenizerConfig() {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: FIXTURE_MAX_LENGTH,
    clean_up_tokenization_spaces: true,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
}

/** last_hidden_state = Gather(FIXTURE_EMBEDDING_TABLE, input_ids); the mask and token types are declared, unused. */
function onnxModel(): Uint8Array {
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
    ],
    node: [
      {
        name: 'token_embeddings',
        opType: 'Gather',
        input: ['embedding_table', 'input_ids'],
        output: ['last_hidden_state'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
      },
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

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write('usage: npm run fixture-model -- <directory>\n');
    process.exit(2);
  }
  const written = await writeFixtureModel(resolve(target));
  process.stdout.write(`fixture model ${FIXTURE_MODEL_ID} written to ${written}\n`);
}
