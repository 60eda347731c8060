// JSON encoding shared by the HTTP client and the loopback web host: Uint8Array travels as {"$base64": "..."}
// so every API argument fits one JSON body. Kept free of Node and DOM APIs so both sides import it.

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

/** Inverse of encodeWire. */
export function decodeWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeWire);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0][0] === '$base64' && typeof entries[0][1] === 'string') {
      return base64ToBytes(entries[0][1]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = decodeWire(v);
    return out;
  }
  return value;
}

/** Header a non-browser client may send instead of the session cookie. */
export const TOKEN_HEADER = 'x-quari-token';
/** Route prefixes of the loopback host. */
export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/events';
export const MEDIA_PREFIX = '/media/';
