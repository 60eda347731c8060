// What every hash-set reader yields: one record per source entry carrying its strongest hash (SHA-256 > SHA-1 >
// MD5) as bytes, validated here so that each reader names its own record in the error and no reader accepts
// malformed hex. Whatever an error quotes of the file goes through quoteContent: short and escaped.
import type { HashSetRecord } from '../../../db/Interface.ts';
import { terminalSafe } from '../cli/terminal.ts';

export type HashName = 'md5' | 'sha1' | 'sha256';

export const HASH_HEX_LENGTH: Record<HashName, number> = { md5: 32, sha1: 40, sha256: 64 };
const TYPE_CODE: Record<HashName, 1 | 2 | 3> = { md5: 1, sha1: 2, sha256: 3 };
const BY_LENGTH: Record<number, HashName> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
const LABEL: Record<HashName, string> = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256' };

/** Most characters of a hash-set file one error message quotes: enough to recognise the record, never a payload. */
export const QUOTE_MAX_CHARS = 40;

/**
 * `text` read from a hash-set file as an error message quotes it: at most `max` characters (then '…'), every
 * control, C1 and bidi character shown as an escape. Messages reach the terminal, the UI's banner and the logs;
 * a hostile file must not write escape sequences there or fill them with its content.
 */
export function quoteContent(text: string, max = QUOTE_MAX_CHARS): string {
  const chars = Array.from(text.slice(0, 2 * max + 2));
  const cut = chars.length > max || text.length > 2 * max + 2 ? `${chars.slice(0, max).join('')}…` : text;
  return `'${terminalSafe(cut)}'`;
}

/** Any JSON value from a hash-set file as an error names it: strings quoted (quoteContent), containers by kind. */
export function quoteValue(value: unknown): string {
  if (typeof value === 'string') return quoteContent(value);
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/** The hash kind a hex string's length implies, or null. */
export function hashNameOfLength(length: number): HashName | null {
  return BY_LENGTH[length] ?? null;
}

/** Checks `hex` as a `name` hash; throws `${where}: …` naming the field. */
export function parseHash(hex: unknown, name: HashName, where: string): Buffer {
  if (typeof hex !== 'string' || hex.length !== HASH_HEX_LENGTH[name] || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new Error(`${where}: ${LABEL[name]} ${quoteValue(hex)} is not ${HASH_HEX_LENGTH[name]} hex digits`);
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The record for an entry carrying some of the three hashes (absent = null/undefined/''); every present hash is
 * validated, the strongest is kept. Throws when none is present.
 */
export function strongestRecord(
  hashes: Partial<Record<HashName, unknown>>,
  category: string | null,
  where: string,
): HashSetRecord {
  let best: HashSetRecord | null = null;
  for (const name of ['md5', 'sha1', 'sha256'] as const) {
    const v = hashes[name];
    if (v === undefined || v === null || v === '') continue;
    best = { type: TYPE_CODE[name], hash: parseHash(v, name, where), category };
  }
  if (!best) throw new Error(`${where}: no MD5, SHA-1 or SHA-256`);
  return best;
}
