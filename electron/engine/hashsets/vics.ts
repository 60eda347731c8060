// Project VIC / CAID VICS JSON: the OData documents forensic tools exchange categorised media in. Version 1.3
// (OData v3: "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media" or "…#Cases") lists
// Media in value[] (hash sets) or nests them in cases, value[].Media[]; version 2.0 (OData v4: "@odata.context":
// "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/<US|UK|Default|CUSTOM>/$metadata#Media" or
// "…#Cases") does the same. A Media record carries MediaID (integer), Category (integer), MD5 and SHA1 (hex,
// upper-case as distributed), MediaSize, and optionally DateUpdated, Comments, Series, Tags, VictimIdentified,
// OffenderIdentified, IsDistributed, IsPrecategorized (with PrecategorizationSource), IsSuspected, MimeType,
// RelativeFilePath, PhotoDNA, AlternativeHashes[] (HashName/HashValue), Exifs[] and MediaFiles[] (MD5, FileName,
// FilePath, Created/Written/Accessed, Unallocated); the flags are written as "true"/"false" strings by some tools
// and as JSON booleans by others. Only MD5, SHA1 (and a SHA256 where a file has one) and Category are read here;
// the rest is skipped whatever its type. Checked against public readers and writers (no specification text is
// public): sepinf-inc/IPED ProjectVICHashLookup.java (1.3 #Media, the field names and flag strings), case
// exporters writing 2.0 #Cases/#Media with the region segment, and the shape of a distributed 2.0 hash set
// (MediaID, Category, MD5, SHA1, MediaSize, DateUpdated, IsPrecategorized as a string). No "Classification" field
// appears in any of them: Category is the classification. Both versions are read here and 2.0 is written by the
// case export (electron/engine/export/vicsExport.ts).
//
// Streamed: @streamparser/json emits each Media (and each case without its Media) as it completes, and the
// emitted array slot is dropped, so memory is one 1 MiB chunk plus the record being parsed, capped at
// MAX_RECORD_BYTES (a hostile multi-gigabyte string is refused, not buffered). The tokens are counted on their way
// to the parser: nesting deeper than MAX_DEPTH is refused (the parser keeps one stack entry per level, ≈ 250 bytes,
// so 15 MB of '[' took 4 GB), and so is a second Media array in one case (a duplicate key: the bytes between two
// arrays would otherwise pile up in the case object while each Media record restarts the per-record count).
import { closeSync, readSync } from 'node:fs';
import { Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import type { HashSetRecord } from '../../../db/Interface.ts';
import { quoteContent, quoteValue, strongestRecord } from './records.ts';
import { checkWithinSize, openHashSetFile } from './openFile.ts';

export const VICS_VERSIONS = ['1.3', '2.0'] as const;
export type VicsVersion = (typeof VICS_VERSIONS)[number];

/** The OData context the export writes (VICS 2.0, media list). */
export const VICS_EXPORT_CONTEXT = 'http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media';

/**
 * Project VIC's category numbers, the defaults of the case-category mapping: a case category whose name (or
 * number) matches one of these exports as it; any other exports as 0 until the analyst maps it.
 */
export const VICS_CATEGORIES: Readonly<Record<number, string>> = {
  0: 'Uncategorized / non-pertinent',
  1: 'CAM (child abuse material)',
  2: 'Child exploitive (non-CAM)',
  3: 'CGI / animation',
  4: 'Comparison',
};
const DEFAULT_NAMES: Record<string, number> = {
  uncategorized: 0,
  'non-pertinent': 0,
  nonpertinent: 0,
  ignorable: 0,
  cam: 1,
  csam: 1,
  'child abuse material': 1,
  'child exploitive': 2,
  exploitive: 2,
  cgi: 3,
  animation: 3,
  'cgi / animation': 3,
  comparison: 4,
};

/** The default VICS category of a case category called `name` (see VICS_CATEGORIES). */
export function defaultVicsCategory(name: string): number {
  const n = name.trim().toLowerCase();
  if (/^(category\s*)?[0-4]$/.test(n)) return Number(n.replace(/\D/g, ''));
  return DEFAULT_NAMES[n] ?? 0;
}

const CHUNK = 1024 * 1024;
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Deepest nesting accepted; VICS records nest 7 levels (document, value, case, Media, record, MediaFiles, file). */
const MAX_DEPTH = 64;

export interface VicsReader {
  records: Iterable<HashSetRecord>;
  /** The data-model version, known once the metadata key was read (it may come after value[]). */
  version(): VicsVersion | null;
}

/** Parses the version out of the metadata URL; throws for versions this reader does not know. */
export function vicsVersionOf(file: string, url: unknown): VicsVersion {
  const m = typeof url === 'string' ? /DataModels\/(\d+\.\d+)\.xml/i.exec(url) : null;
  if (!m) throw new Error(`${file}: the OData metadata ${quoteValue(url)} names no VICS data-model version`);
  if (!(VICS_VERSIONS as readonly string[]).includes(m[1]!)) {
    throw new Error(`${file}: unknown VICS version ${m[1]} (this reader knows ${VICS_VERSIONS.join(' and ')})`);
  }
  return m[1] as VicsVersion;
}

/** `onChunk` receives every byte read (the caller hashes and counts them). */
export function readVics(file: string, options: { onChunk?: (chunk: Buffer) => void } = {}): VicsReader {
  let version: VicsVersion | null = null;
  function* records(): Generator<HashSetRecord> {
    const { fd, size } = openHashSetFile(file);
    try {
      const tokenizer = new Tokenizer();
      const parser = new TokenParser({ paths: ['$.*', '$.value.*', '$.value.*.Media.*'], keepStack: false });
      let depth = 0;
      tokenizer.onToken = (t) => {
        if (t.token === TokenType.LEFT_BRACE || t.token === TokenType.LEFT_BRACKET) {
          if (++depth > MAX_DEPTH) throw new Error(`${file}: nesting deeper than ${MAX_DEPTH} levels at byte ${t.offset}`);
        } else if (t.token === TokenType.RIGHT_BRACE || t.token === TokenType.RIGHT_BRACKET) depth--;
        parser.write(t);
      };
      // The wiring JSONParser does, with the counting step between.
      tokenizer.onEnd = () => {
        if (!parser.isEnded) parser.end();
      };
      parser.onError = tokenizer.error.bind(tokenizer);
      parser.onEnd = () => {
        if (!tokenizer.isEnded) tokenizer.end();
      };
      const ready: HashSetRecord[] = [];
      let sawValue = false;
      let offset = 0;
      let sinceRecord = 0;
      let mediaOfCase = -1;
      parser.onValue = ({ value, key, parent, stack }) => {
        sinceRecord = 0;
        if (stack.length === 1) {
          if (key === 'odata.metadata' || key === '@odata.context') version = vicsVersionOf(file, value);
          else if (key === 'value') {
            if (!Array.isArray(value)) throw new Error(`${file}: 'value' is not an array`);
            sawValue = true;
          }
          return;
        }
        const caseIndex = stack.length === 2 ? (key as number) : (stack[2]!.key as number);
        const where = stack.length === 2 ? `${file}: value[${caseIndex}]` : `${file}: value[${caseIndex}].Media[${key as number}]`;
        if (stack.length > 2 && key === 0) {
          if (mediaOfCase === caseIndex) throw new Error(`${file}: value[${caseIndex}] has more than one Media array`);
          mediaOfCase = caseIndex;
        }
        // Drop the emitted slot: neither value[] nor a case's Media[] grows with the file.
        if (Array.isArray(parent)) parent.length = 0;
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: not an object`);
        const o = value as Record<string, unknown>;
        if (stack.length === 2 && 'Media' in o) {
          if (!Array.isArray(o.Media)) throw new Error(`${where}: Media is not an array`);
          return; // a case: its Media were emitted one by one
        }
        ready.push(mediaRecord(o, where));
      };
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n === 0) break;
        checkWithinSize(file, offset + n, size);
        options.onChunk?.(buf.subarray(0, n));
        try {
          tokenizer.write(buf.subarray(0, n));
        } catch (err) {
          const message = (err as Error).message;
          // The parser's own messages quote the token at fault (a string token may be megabytes): quoted short.
          throw new Error(message.startsWith(file) ? message : `${file}: not valid JSON in bytes ${offset}..${offset + n} (${quoteContent(message, 120)})`);
        }
        offset += n;
        sinceRecord += n;
        if (sinceRecord > MAX_RECORD_BYTES) throw new Error(`${file}: a record near byte ${offset} exceeds ${MAX_RECORD_BYTES} bytes`);
        yield* ready.splice(0);
      }
      if (!(tokenizer.isEnded && parser.isEnded)) throw new Error(`${file}: the JSON ends early (after ${offset} bytes)`);
      if (!sawValue) throw new Error(`${file}: no 'value' array (not a VICS OData document)`);
      if (version === null) throw new Error(`${file}: no 'odata.metadata' or '@odata.context' naming the VICS version`);
    } finally {
      closeSync(fd);
    }
  }
  return { records: records(), version: () => version };
}

function mediaRecord(o: Record<string, unknown>, where: string): HashSetRecord {
  const id = o.MediaID === undefined ? '' : ` (MediaID ${quoteValue(o.MediaID)})`;
  const at = `${where}${id}`;
  let category: string | null = null;
  const c = o.Category;
  if (c !== undefined && c !== null && c !== '') {
    const n = typeof c === 'number' ? c : typeof c === 'string' && /^\d+$/.test(c) ? Number(c) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 99) throw new Error(`${at}: Category ${quoteValue(c)} is not an integer 0..99`);
    category = String(n);
  }
  return strongestRecord({ md5: o.MD5, sha1: o.SHA1, sha256: o.SHA256 }, category, at);
}
