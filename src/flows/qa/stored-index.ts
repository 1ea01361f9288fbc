/**
 * The Q&A index kept on disk, so a start does not analyse the whole FAQ again (about 9 s for
 * 10,000 entries, most of it jieba and the regexes of tokenize.ts; loading the stored index takes
 * a fraction of a second and does not load jieba's 40 MB dictionary at all).
 *
 * The file is named and keyed by a hash of everything the index is made from: the FAQ entries as
 * the service indexes them (course values filled in), the lessons' passages, the retrieval
 * parameters, this file format and the analyzer (tokenize.ts's version, jieba's version and
 * dictionary, stopwords, synonyms). A changed FAQ has another key, so it is built again and
 * stored under the new key. A file that is not exactly what this code writes (another format,
 * another key, a wrong checksum, sizes or ids that do not add up) is ignored and rebuilt: its
 * bytes are never used unchecked.
 *
 * Layout: "KQNQAIX1", a uint32 format version, a uint32 header length, the SHA-256 of all that
 * follows it, then the header (JSON: key, ids, terms, where each array is) and the typed arrays,
 * each at an offset that is a multiple of 8 (little-endian, as the machines kequn runs on).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CourseConfig } from '../../core/types.js';
import { dialectOf, sqliteOf, type Db } from '../../store/db.js';
import { QaIndex, type IndexState, type QaParams } from './retrieval.js';
import { analyzerFingerprint } from './tokenize.js';
import { writeKeepingNewest } from '../../util/stored-file.js';

const MAGIC = Buffer.from('KQNQAIX1', 'latin1');
/** Bump when the layout below changes. */
export const FORMAT_VERSION = 1;
const PREFIX = MAGIC.length + 4 + 4 + 32;
/** Stored indexes kept per folder (the newest): a course whose FAQ changes back finds its old one. */
const KEEP = 3;

type ArrayName = 'termKind' | 'df' | 'postStart' | 'postUnits' | 'postTfs' | 'unitEntry' | 'unitField' | 'unitLen' | 'unitTermStart' | 'unitTermIds' | 'lenSum';
const ARRAYS: Record<ArrayName, typeof Uint8Array | typeof Int32Array | typeof Float32Array | typeof Float64Array> = {
  termKind: Uint8Array,
  df: Int32Array,
  postStart: Int32Array,
  postUnits: Int32Array,
  postTfs: Float32Array,
  unitEntry: Int32Array,
  unitField: Uint8Array,
  unitLen: Float32Array,
  unitTermStart: Int32Array,
  unitTermIds: Int32Array,
  lenSum: Float64Array,
};
const NAMES = Object.keys(ARRAYS) as ArrayName[];

interface Header {
  key: string;
  indexes: { ids: string[]; terms: string[]; fieldCount: [number, number]; arrays: Record<ArrayName, [offset: number, length: number]> }[];
}

/** The key of an index built from these inputs (hex SHA-256). */
export function indexKey(inputs: unknown, params: Partial<QaParams> = {}): string {
  return createHash('sha256')
    .update(JSON.stringify({ format: FORMAT_VERSION, analyzer: analyzerFingerprint(), params, inputs }))
    .digest('hex');
}

/**
 * Where stored indexes are kept, by the store the bot runs on (as posters are): `qa-index/`
 * beside the SQLite file; for PostgreSQL a folder of the system's temp folder named after the
 * database; none for an in-memory store (its index is built at every start, as the store is).
 */
export function storedIndexDir(db: Db, config: Pick<CourseConfig, 'dataPath'>): string | undefined {
  if (dialectOf(db) === 'postgres') return join(tmpdir(), 'kequn-qa-index', createHash('sha256').update(config.dataPath).digest('hex').slice(0, 12));
  const file = sqliteOf(db).name;
  if (file === ':memory:' || file === '') return undefined;
  return join(dirname(file), 'qa-index');
}

const fileOf = (dir: string, key: string) => join(dir, `${key.slice(0, 32)}.qaidx`);

/** The file's bytes for these indexes under `key`. */
export function encodeIndexes(key: string, indexes: QaIndex[]): Buffer {
  const states = indexes.map((i) => i.exportState());
  let offset = 0;
  const placed: { array: ArrayBufferView; offset: number }[] = [];
  const header: Header = {
    key,
    indexes: states.map((s) => {
      const arrays = {} as Record<ArrayName, [number, number]>;
      for (const name of NAMES) {
        const a = s[name] as ArrayBufferView & { length: number };
        arrays[name] = [offset, a.length];
        placed.push({ array: a, offset });
        offset += Math.ceil(a.byteLength / 8) * 8;
      }
      return { ids: s.ids, terms: s.terms, fieldCount: s.fieldCount, arrays };
    }),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const dataStart = Math.ceil((PREFIX + json.length) / 8) * 8;
  const out = Buffer.alloc(dataStart + offset);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(FORMAT_VERSION, MAGIC.length);
  out.writeUInt32LE(json.length, MAGIC.length + 4);
  json.copy(out, PREFIX);
  for (const p of placed) Buffer.from(p.array.buffer, p.array.byteOffset, p.array.byteLength).copy(out, dataStart + p.offset);
  createHash('sha256').update(out.subarray(PREFIX)).digest().copy(out, MAGIC.length + 8);
  return out;
}

/**
 * The indexes stored in `bytes` under `key`, or why they cannot be used. Checks the magic, the
 * format version, the checksum, the key, every array's bounds, then each index's consistency.
 */
export function decodeIndexes(bytes: Uint8Array, key: string, params: Partial<QaParams> = {}): { indexes: QaIndex[] } | { error: string } {
  try {
    if (bytes.length < PREFIX || !Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length).equals(MAGIC)) return { error: 'not a stored Q&A index' };
    // The typed arrays are views on these bytes: they must start at a multiple of 8.
    const buf = bytes.byteOffset % 8 === 0 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : Buffer.from(Uint8Array.prototype.slice.call(bytes));
    const version = buf.readUInt32LE(MAGIC.length);
    if (version !== FORMAT_VERSION) return { error: `format ${version}, not ${FORMAT_VERSION}` };
    const jsonLength = buf.readUInt32LE(MAGIC.length + 4);
    if (PREFIX + jsonLength > buf.length) return { error: 'truncated' };
    const sum = createHash('sha256').update(buf.subarray(PREFIX)).digest();
    if (!sum.equals(buf.subarray(MAGIC.length + 8, PREFIX))) return { error: 'checksum mismatch' };
    const header = JSON.parse(buf.toString('utf8', PREFIX, PREFIX + jsonLength)) as Header;
    if (header.key !== key) return { error: 'made from another FAQ' };
    const dataStart = Math.ceil((PREFIX + jsonLength) / 8) * 8;
    const indexes = header.indexes.map((h) => {
      const state = { ids: h.ids, terms: h.terms, fieldCount: h.fieldCount } as IndexState;
      for (const name of NAMES) {
        const [offset, length] = h.arrays[name];
        const Type = ARRAYS[name];
        const start = dataStart + offset;
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset % 8 !== 0 || start + length * Type.BYTES_PER_ELEMENT > buf.length) throw new Error(`array ${name} out of bounds`);
        (state as unknown as Record<string, unknown>)[name] = new Type(buf.buffer as ArrayBuffer, buf.byteOffset + start, length);
      }
      return QaIndex.fromState(state, params);
    });
    return { indexes };
  } catch (e) {
    return { error: (e as Error).message.slice(0, 200) };
  }
}

/** The indexes stored under `key` in `dir`, or why there are none to use. */
export function readStoredIndexes(dir: string, key: string, params: Partial<QaParams> = {}): { indexes: QaIndex[] } | { error: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(fileOf(dir, key));
  } catch {
    return { error: 'none stored' };
  }
  return decodeIndexes(bytes, key, params);
}

/**
 * Stores the indexes under `key` (written to a temporary name and renamed, so a reader never
 * sees half a file), then removes all but the newest few. Never throws: a folder that cannot be
 * written means the next start builds again. Returns the file's size, or an error.
 */
export function writeStoredIndexes(dir: string, key: string, indexes: QaIndex[]): { bytes: number } | { error: string } {
  try {
    const bytes = encodeIndexes(key, indexes);
    writeKeepingNewest(dir, fileOf(dir, key), bytes, '.qaidx', KEEP);
    return { bytes: bytes.length };
  } catch (e) {
    return { error: (e as Error).message.slice(0, 200) };
  }
}
