// What every hash-set reader yields: one record per source entry carrying its strongest hash (SHA-256 > SHA-1 >
// MD5) as bytes, validated here so that each reader names its own record in the error and no reader accepts
// malformed hex.
import type { HashSetRecord } from '../../../db/Interface.ts';

export type HashName = 'md5' | 'sha1' | 'sha256';

export const HASH_HEX_LENGTH: Record<HashName, number> = { md5: 32, sha1: 40, sha256: 64 };
const TYPE_CODE: Record<HashName, 1 | 2 | 3> = { md5: 1, sha1: 2, sha256: 3 };
const BY_LENGTH: Record<number, HashName> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
const LABEL: Record<HashName, string> = { md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256' };

/** The hash kind a hex string's length implies, or null. */
export function hashNameOfLength(length: number): HashName | null {
  return BY_LENGTH[length] ?? null;
}

/** Checks `hex` as a `name` hash; throws `${where}: …` naming the field. */
export function parseHash(hex: unknown, name: HashName, where: string): Buffer {
  if (typeof hex !== 'string' || hex.length !== HASH_HEX_LENGTH[name] || !/^[0-9a-fA-F]+$/.test(hex)) {
    const shown = typeof hex === 'string' ? `'${hex.length > 80 ? `${hex.slice(0, 80)}…` : hex}'` : String(hex);
    throw new Error(`${where}: ${LABEL[name]} ${shown} is not ${HASH_HEX_LENGTH[name]} hex digits`);
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
