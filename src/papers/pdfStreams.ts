import { createInflate, type Inflate } from 'node:zlib';

/**
 * How many bytes a PDF's streams decompress to, counted before pdf.js sees the file: pdf.js decodes a stream whole
 * into memory, so one Flate stream of a gigabyte of spaces (a 1 MB file) costs gigabytes and never yields. Every
 * `stream … endstream` in the file is found by scanning the bytes (streams never live inside object streams, so
 * this finds them all, whatever the cross-reference table says), and its Flate layers are inflated chunk by chunk,
 * counted and thrown away, until the budget is spent.
 *
 * Images are not counted: extracting text never decodes them. Streams whose first filter is not Flate (LZW, ASCII85,
 * JPEG…) count their raw length. What this cannot see is bounded by the child process's memory limit and kill.
 */

const STREAM = Buffer.from('stream');
const END_STREAM = Buffer.from('endstream');
/** How far back from `stream` the object's dictionary is looked for. */
const DICTIONARY_WINDOW = 64 * 1024;

/** The decompressed size of the PDF's non-image streams, counted up to just past `budget` (then it stops). */
export async function decompressedStreamBytes(bytes: Uint8Array, budget: number): Promise<number> {
  const file = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = 0;
  let position = 0;
  while (total <= budget) {
    const keyword = file.indexOf(STREAM, position);
    if (keyword < 0) break;
    position = keyword + STREAM.length;
    if (keyword >= 3 && file.toString('latin1', keyword - 3, keyword) === 'end') continue;
    let start = position;
    if (file[start] === 0x0d) start += 1;
    if (file[start] === 0x0a) start += 1;
    if (start === position) continue; // `stream` inside a name or a string, not the keyword
    const end = file.indexOf(END_STREAM, start);
    const data = file.subarray(start, end < 0 ? file.length : end);
    position = end < 0 ? file.length : end + END_STREAM.length;
    const dictionary = dictionaryBefore(file, keyword);
    if (/\/Subtype\s*\/Image\b/.test(dictionary)) continue;
    const filters = filtersOf(dictionary);
    const flateLayers = filters.findIndex((filter) => filter !== 'FlateDecode' && filter !== 'Fl');
    const layers = flateLayers < 0 ? filters.length : flateLayers;
    total += layers === 0 ? data.length : await inflatedLength(data, layers, budget - total + 1);
  }
  return total;
}

function dictionaryBefore(file: Buffer, keyword: number): string {
  const window = file.toString('latin1', Math.max(0, keyword - DICTIONARY_WINDOW), keyword);
  const objectStart = window.lastIndexOf(' obj');
  return objectStart < 0 ? window : window.slice(objectStart);
}

/** `/Filter /FlateDecode` or `/Filter [/FlateDecode /DCTDecode]`, as names without their slash. */
function filtersOf(dictionary: string): string[] {
  const match = /\/Filter\s*(\[[^\]]*\]|\/[^\s/[\]<>()]+)/.exec(dictionary);
  if (!match) return [];
  return [...match[1]!.matchAll(/\/([^\s/[\]<>()]+)/g)].map((name) => name[1]!);
}

/**
 * Bytes out of `layers` Flate layers, counted as they come and stopped just past `limit`. A damaged stream counts
 * what came out before the damage, as pdf.js reads it.
 */
function inflatedLength(data: Uint8Array, layers: number, limit: number): Promise<number> {
  return new Promise((resolve) => {
    const chain: Inflate[] = Array.from({ length: layers }, () => createInflate());
    let count = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      for (const inflate of chain) inflate.destroy();
      resolve(count);
    };
    for (const [index, inflate] of chain.entries()) {
      inflate.on('error', finish);
      if (index + 1 < chain.length) inflate.pipe(chain[index + 1]!);
    }
    const last = chain.at(-1)!;
    last.on('data', (chunk: Buffer) => {
      count += chunk.length;
      if (count > limit) finish();
    });
    last.on('end', finish);
    chain[0]!.end(data);
  });
}
