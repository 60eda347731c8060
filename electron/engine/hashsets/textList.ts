// Reader for plain hash lists: one hex hash per line (MD5, SHA-1 or SHA-256, inferred from the length unless the
// type is stated), optionally followed by whitespace and anything (md5sum/sha1sum output); blank lines and lines
// starting with '#' are skipped. Read synchronously in 1 MiB chunks, so memory is one chunk plus one line.
import { closeSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { HashSetRecord } from '../../../db/Interface.ts';
import { hashNameOfLength, quoteContent, strongestRecord, type HashName } from './records.ts';
import { checkWithinSize, openHashSetFile } from './openFile.ts';

const CHUNK = 1024 * 1024;
/** Longest line accepted: a hash and a file name. */
const MAX_LINE = 64 * 1024;

/** Yields the list's records; `onChunk` receives every byte read (the caller hashes and counts them). */
export function* readTextList(file: string, options: { hashType?: HashName; onChunk?: (chunk: Buffer) => void } = {}): Generator<HashSetRecord> {
  const { fd, size } = openHashSetFile(file);
  try {
    let total = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    const decoder = new StringDecoder('utf8');
    let carry = '';
    let line = 0;
    const parse = function* (text: string): Generator<HashSetRecord> {
      line++;
      const t = text.trim();
      if (t === '' || t.startsWith('#')) return;
      const token = t.split(/[\s,;]+/, 1)[0]!;
      const where = `${file}: line ${line}`;
      const name = options.hashType ?? hashNameOfLength(token.length);
      if (!name) throw new Error(`${where}: ${quoteContent(token)} is not a hex MD5, SHA-1 or SHA-256 (length ${token.length})`);
      yield strongestRecord({ [name]: token }, null, where);
    };
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      checkWithinSize(file, (total += n), size);
      options.onChunk?.(buf.subarray(0, n));
      const lines = (carry + decoder.write(buf.subarray(0, n))).split('\n');
      carry = lines.pop()!;
      if (carry.length > MAX_LINE) throw new Error(`${file}: line ${line + 1} is longer than ${MAX_LINE} characters`);
      for (const l of lines) yield* parse(l);
    }
    carry += decoder.end();
    if (carry !== '') yield* parse(carry);
  } finally {
    closeSync(fd);
  }
}
