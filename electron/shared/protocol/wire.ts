// The web host's wire codec, shared by the HTTP client and the loopback web host: Uint8Array travels as
// {"$base64": "..."} so every API argument fits one JSON body. Decoding refuses the keys that reach an object's
// prototype (JSON.parse keeps `"__proto__"` as an own key; copying it would set the copy's prototype). Kept free
// of Node and DOM APIs so both sides import it.
import { ValidationError } from './errors.ts';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) LOOKUP[BASE64.charCodeAt(i)] = i;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i];
    const b = i + 1 < bytes.length ? bytes[i + 1] : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2] : 0;
    const n = (a << 16) | (b << 8) | c;
    chunk +=
      BASE64[(n >> 18) & 63] +
      BASE64[(n >> 12) & 63] +
      (i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : '=') +
      (i + 2 < bytes.length ? BASE64[n & 63] : '=');
    // Flush periodically so huge images do not build one quadratic string.
    if (chunk.length >= 65536) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

export function base64ToBytes(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new Error('base64 payload has an invalid length');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < clean.length; i += 4) {
    let n = 0;
    let digits = 0;
    for (let j = 0; j < 4 && i + j < clean.length; j++) {
      const code = clean.charCodeAt(i + j);
      const v = code < 128 ? LOOKUP[code] : -1;
      if (v < 0) throw new Error(`base64 payload has an invalid character at offset ${i + j}`);
      n |= v << (18 - 6 * j);
      digits++;
    }
    out[o++] = (n >> 16) & 255;
    if (digits > 2) out[o++] = (n >> 8) & 255;
    if (digits > 3) out[o++] = n & 255;
  }
  return out;
}

/** JSON.stringify replacer-equivalent: deep-copies `value`, replacing every Uint8Array by {"$base64": ...}. */
export function encodeWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $base64: bytesToBase64(value) };
  if (Array.isArray(value)) return value.map(encodeWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encodeWire(v);
    return out;
  }
  return value;
}

/** Keys that name or reach a prototype; refused anywhere in a request. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deepest nesting accepted: API arguments are at most five levels deep (body, args, request, feedback, box). */
export const MAX_DEPTH = 16;

/**
 * Most arrays, objects and separators one request body may hold. The largest lists an argument may carry are
 * 10,000 ids (search feedback exclusions, getKnownMatches), so 100,000 leaves room while bounding what the parser
 * allocates: a 266 MiB query-image body of `[0,0,…` would otherwise become a 140-million-element array.
 */
export const MAX_JSON_ITEMS = 100_000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Checks a JSON body's shape as its bytes arrive, before it is parsed or even fully read: nesting depth and item
 * count outside strings. Iterative (a counter, no recursion), so a body of a hundred million `[` costs one pass and
 * is refused at byte 17. Strings are skipped with indexOf, so a 266 MiB base64 payload is one native scan.
 * Malformed JSON passes through to JSON.parse, which refuses it.
 */
export class JsonShapeGuard {
  private depth = 0;
  private items = 0;
  private inString = false;
  private escaped = false;

  /** Feeds the next bytes; throws ValidationError at the first byte that nests too deep or passes MAX_JSON_ITEMS. */
  push(bytes: Uint8Array): void {
    let i = 0;
    const n = bytes.length;
    // The next quote and backslash at or after i (-1: none left in this chunk), found lazily and only ever moving
    // forward, so a chunk of many short strings or many escapes is still scanned in linear time.
    let quote = -2;
    let slash = -2;
    while (i < n) {
      if (this.escaped) {
        this.escaped = false;
        i++;
        continue;
      }
      if (this.inString) {
        if (quote !== -1 && quote < i) quote = bytes.indexOf(QUOTE, i);
        if (slash !== -1 && slash < i) slash = bytes.indexOf(BACKSLASH, i);
        if (slash !== -1 && (quote === -1 || slash < quote)) {
          this.escaped = true;
          i = slash + 1;
        } else if (quote !== -1) {
          this.inString = false;
          i = quote + 1;
        } else {
          return;
        }
        continue;
      }
      const b = bytes[i++];
      if (b === QUOTE) this.inString = true;
      else if (b === 0x5b || b === 0x7b) {
        if (++this.depth > MAX_DEPTH) throw new ValidationError(`request body: nested deeper than ${MAX_DEPTH} levels`);
        this.count();
      } else if (b === 0x5d || b === 0x7d) {
        // More closed than opened is never JSON; refusing it keeps the depth count from being wound back.
        if (--this.depth < 0) throw new ValidationError('request body: a bracket closes more than were opened');
      }
      else if (b === 0x2c) this.count();
    }
  }

  private count(): void {
    if (++this.items > MAX_JSON_ITEMS) throw new ValidationError(`request body: more than ${MAX_JSON_ITEMS} arrays, objects and list items`);
  }
}

/** Inverse of encodeWire; throws ValidationError naming the path of a prototype key, a bad base64 or too deep a value. */
export function decodeWire(value: unknown, where = 'arguments', depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new ValidationError(`${where}: nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v, i) => decodeWire(v, `${where}[${i}]`, depth + 1));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === '$base64' && typeof entries[0][1] === 'string') {
      try {
        return base64ToBytes(entries[0][1]);
      } catch (err) {
        throw new ValidationError(`${where}: ${(err as Error).message}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      if (PROTOTYPE_KEYS.has(k)) throw new ValidationError(`${where}: the key "${k}" is refused`);
      out[k] = decodeWire(v, `${where}.${k.slice(0, 100)}`, depth + 1);
    }
    return out;
  }
  return value;
}
