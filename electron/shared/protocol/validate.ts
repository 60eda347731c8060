// Argument validation for every API method, on both hosts (dispatch.ts runs it). Every caller is untrusted (a
// compromised renderer, any local process or page reaching the web host): each method gets an explicit validator
// that checks arity, types, bounds and enums, and returns a fresh copy holding only the known fields, so nothing a
// caller adds (extra keys, `__proto__`, prototypes, getters) reaches the engine. The limits are the API contract's
// (README "Security"); each refusal names the method, the argument and the field.
import { EXPORT_FORMATS, HASH_SET_FORMATS, HASH_SET_KINDS, KNOWN_FILTERS, STACK_TIERS, type ApiMethod, type Box, type SearchFilter, type SearchRequest, type Settings } from '../api.ts';
import { CAMERA_TEXT_MAX, SEARCH_MODES } from '../constants.ts';
import { ValidationError } from './errors.ts';
import { QUERY_IMAGE_MAX_BYTES } from './routes.ts';

export { ValidationError };

export const LIMITS = {
  /** Query images are single photos; the engine checks the same cap, so both hosts accept the same files. */
  queryImageBytes: QUERY_IMAGE_MAX_BYTES,
  fileName: 255,
  path: 4096,
  id: 128,
  caseName: 200,
  description: 10_000,
  note: 20_000,
  categoryName: 100,
  /** Hotkeys 1..9 apply categories, so a case has at most nine. */
  categories: 9,
  crops: 32,
  /** No stored image is wider or taller than this many pixels. */
  pixels: 1_000_000,
  k: 10_000_000,
  top: 10_000,
  /** Marked hits one feedback search takes: each relevant one is encoded, so the list stays short. */
  feedbackRelevant: 50,
  feedbackExcluded: 10_000,
  /** Images per getKnownMatches call: one results page at most. */
  knownMatchImages: 10_000,
  hashSetName: 200,
} as const;

const PACK_ID = /^[a-z0-9][a-z0-9._-]*$/;
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
// C0 controls and DEL; tabs and newlines are allowed only where free text is expected.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const CONTROL_OR_NEWLINE = /[\u0000-\u001f\u007f]/;

function fail(where: string, what: string): never {
  throw new ValidationError(`${where}: ${what}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : typeof value;
}

interface StringRule {
  min?: number;
  max: number;
  multiline?: boolean;
  pattern?: RegExp;
  patternHint?: string;
}

function str(where: string, value: unknown, rule: StringRule): string {
  if (typeof value !== 'string') fail(where, `expected a string, got ${describe(value)}`);
  const min = rule.min ?? 0;
  if (value.length < min) fail(where, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  if (value.length > rule.max) fail(where, `must be at most ${rule.max} characters (got ${value.length})`);
  if ((rule.multiline ? CONTROL : CONTROL_OR_NEWLINE).test(value)) fail(where, 'contains control characters');
  if (rule.pattern && !rule.pattern.test(value)) fail(where, rule.patternHint ?? 'has an invalid format');
  return value;
}

function id(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    fail(where, `expected a positive integer id, got ${describe(value) === 'number' ? value : describe(value)}`);
  }
  return value;
}

function int(where: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(where, `expected an integer, got ${describe(value)}`);
  if (value < min || value > max) fail(where, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

function finite(where: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, `expected a finite number, got ${describe(value)}`);
  if (value < min || value > max) fail(where, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

function bool(where: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(where, `expected true or false, got ${describe(value)}`);
  return value;
}

function oneOf<T extends string>(where: string, value: unknown, options: readonly T[]): T {
  if (typeof value !== 'string' || !(options as readonly string[]).includes(value)) {
    fail(where, `must be one of ${options.map((o) => `"${o}"`).join(', ')}`);
  }
  return value as T;
}

/** A plain object with only `allowed` keys; `required` keys must be present (their values may be null). */
function record(where: string, value: unknown, allowed: readonly string[], required: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    fail(where, `expected an object, got ${describe(value)}`);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) fail(where, 'expected a plain object');
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!allowed.includes(key)) fail(where, `unknown field ${JSON.stringify(key.slice(0, 100))}`);
  for (const key of required) if (!(key in obj) || obj[key] === undefined) fail(`${where}.${key}`, 'is required');
  return obj;
}

function list(where: string, value: unknown, max: number): unknown[] {
  if (!Array.isArray(value)) fail(where, `expected an array, got ${describe(value)}`);
  if (value.length > max) fail(where, `must have at most ${max} entries (got ${value.length})`);
  return value;
}

export function validateBox(where: string, value: unknown): Box {
  const o = record(where, value, ['x', 'y', 'w', 'h'], ['x', 'y', 'w', 'h']);
  const box = {
    x: finite(`${where}.x`, o.x, 0, LIMITS.pixels),
    y: finite(`${where}.y`, o.y, 0, LIMITS.pixels),
    w: finite(`${where}.w`, o.w, 0, LIMITS.pixels),
    h: finite(`${where}.h`, o.h, 0, LIMITS.pixels),
  };
  if (box.w === 0 || box.h === 0) fail(where, 'a crop must have a non-zero width and height');
  return box;
}

/** POSIX `/…`, Windows `C:\…` or `C:/…`, or a UNC `\\server\share`: never relative to the host's working folder. */
const ABSOLUTE = /^(?:\/|[A-Za-z]:[\\/]|\\\\[^\\])/;

function folderPath(where: string, value: unknown): string {
  const path = str(where, value, { min: 1, max: LIMITS.path });
  if (!ABSOLUTE.test(path)) fail(where, 'must be an absolute folder path (a relative one would name the host\'s working folder)');
  return path;
}

function filePath(where: string, value: unknown): string {
  const path = str(where, value, { min: 1, max: LIMITS.path });
  if (!ABSOLUTE.test(path)) fail(where, 'must be an absolute file path (a relative one would name the host\'s working folder)');
  return path;
}

function token(where: string, value: unknown): string {
  return str(where, value, { min: 1, max: LIMITS.id, pattern: TOKEN, patternHint: 'has an invalid format' });
}

function bytes(where: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(where, `expected bytes (Uint8Array), got ${describe(value)}`);
  if (value.byteLength === 0) fail(where, 'is empty');
  if (value.byteLength > LIMITS.queryImageBytes) {
    fail(where, `is ${value.byteLength} bytes; the limit is ${LIMITS.queryImageBytes} bytes`);
  }
  return value;
}

const CAPTURE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?$/;

function searchFilter(where: string, value: unknown): SearchFilter {
  const o = record(where, value, ['folderPrefix', 'capturedFrom', 'capturedTo', 'cameraMake', 'cameraModel', 'hasGps', 'tagged', 'known'], []);
  const filter: SearchFilter = {};
  if (o.folderPrefix !== undefined) filter.folderPrefix = folderPath(`${where}.folderPrefix`, o.folderPrefix);
  for (const key of ['capturedFrom', 'capturedTo'] as const) {
    if (o[key] !== undefined) filter[key] = str(`${where}.${key}`, o[key], { min: 10, max: 19, pattern: CAPTURE_TIME, patternHint: 'must be YYYY-MM-DD[THH[:MM[:SS]]]' });
  }
  for (const key of ['cameraMake', 'cameraModel'] as const) {
    if (o[key] !== undefined) filter[key] = str(`${where}.${key}`, o[key], { min: 1, max: CAMERA_TEXT_MAX });
  }
  if (o.hasGps !== undefined) filter.hasGps = bool(`${where}.hasGps`, o.hasGps);
  if (o.tagged !== undefined) {
    const t = record(`${where}.tagged`, o.tagged, ['caseId', 'state', 'categoryId'], ['caseId', 'state']);
    filter.tagged = {
      caseId: id(`${where}.tagged.caseId`, t.caseId),
      state: oneOf(`${where}.tagged.state`, t.state, ['tagged', 'untagged'] as const),
      ...(t.categoryId !== undefined ? { categoryId: id(`${where}.tagged.categoryId`, t.categoryId) } : {}),
    };
  }
  if (o.known !== undefined) filter.known = oneOf(`${where}.known`, o.known, KNOWN_FILTERS);
  return filter;
}

function searchRequest(where: string, value: unknown): SearchRequest {
  const o = record(where, value, ['queryImageId', 'crops', 'mode', 'k', 'top', 'filter', 'stackTier', 'feedback'], ['queryImageId', 'crops', 'mode']);
  const request: SearchRequest = {
    queryImageId: token(`${where}.queryImageId`, o.queryImageId),
    crops: list(`${where}.crops`, o.crops, LIMITS.crops).map((c, i) => validateBox(`${where}.crops[${i}]`, c)),
    mode: oneOf(`${where}.mode`, o.mode, SEARCH_MODES),
  };
  if (o.k !== undefined) request.k = int(`${where}.k`, o.k, 0, LIMITS.k);
  if (o.top !== undefined) request.top = int(`${where}.top`, o.top, 1, LIMITS.top);
  if (o.filter !== undefined) request.filter = searchFilter(`${where}.filter`, o.filter);
  if (o.stackTier !== undefined) request.stackTier = oneOf(`${where}.stackTier`, o.stackTier, [...STACK_TIERS, 'none'] as const);
  if (o.feedback !== undefined) {
    const w = `${where}.feedback`;
    const f = record(w, o.feedback, ['relevant', 'excludeImageIds', 'strategy'], ['relevant', 'excludeImageIds', 'strategy']);
    request.feedback = {
      relevant: list(`${w}.relevant`, f.relevant, LIMITS.feedbackRelevant).map((r, i) => {
        const e = record(`${w}.relevant[${i}]`, r, ['imageId', 'box'], ['imageId', 'box']);
        return { imageId: id(`${w}.relevant[${i}].imageId`, e.imageId), box: validateBox(`${w}.relevant[${i}].box`, e.box) };
      }),
      excludeImageIds: list(`${w}.excludeImageIds`, f.excludeImageIds, LIMITS.feedbackExcluded).map((v, i) => id(`${w}.excludeImageIds[${i}]`, v)),
      strategy: oneOf(`${w}.strategy`, f.strategy, ['regions', 'queries'] as const),
    };
  }
  return request;
}

function settingsPatch(where: string, value: unknown): Partial<Settings> {
  const o = record(where, value, ['blurAll', 'explicitThreshold', 'examiner'], []);
  const patch: Partial<Settings> = {};
  if (o.blurAll !== undefined) patch.blurAll = bool(`${where}.blurAll`, o.blurAll);
  if (o.explicitThreshold !== undefined) patch.explicitThreshold = finite(`${where}.explicitThreshold`, o.explicitThreshold, 0, 1);
  if (o.examiner !== undefined) patch.examiner = str(`${where}.examiner`, o.examiner, { max: 200 });
  return patch;
}

type ArgValidator = (args: readonly unknown[]) => unknown[];

/** Checks the argument count, then runs one validator per positional argument. */
function args(...validators: ((where: string, value: unknown) => unknown)[]): ArgValidator {
  return (given) => {
    // Trailing undefined arguments are what a caller's optional parameters look like after the structured clone.
    let count = given.length;
    while (count > validators.length && given[count - 1] === undefined) count--;
    if (count !== validators.length) {
      throw new ValidationError(`expected ${validators.length} argument${validators.length === 1 ? '' : 's'}, got ${count}`);
    }
    return validators.map((v, i) => v(`argument ${i + 1}`, given[i]));
  };
}

const VALIDATORS: Record<ApiMethod, ArgValidator> = {
  getCatalogInfo: args(),
  setActivePack: args((w, v) =>
    str(`${w} (packId)`, v, { min: 1, max: LIMITS.id, pattern: PACK_ID, patternHint: 'is not a pack id (lowercase letters, digits, ".", "_" or "-")' }),
  ),
  importPack: args((w, v) => folderPath(`${w} (folder)`, v)),
  chooseFolder: args(),
  startIngest: args((w, v) => folderPath(`${w} (folder)`, v)),
  cancelIngest: args((w, v) => token(`${w} (runId)`, v)),
  getIngestProgress: args(),
  listFailures: args(),
  addQueryImage: args((w, v) => {
    const o = record(w, v, ['name', 'bytes'], ['name', 'bytes']);
    return { name: str(`${w}.name`, o.name, { min: 1, max: LIMITS.fileName }), bytes: bytes(`${w}.bytes`, o.bytes) };
  }),
  queryFromImage: args((w, v) => id(`${w} (imageId)`, v)),
  search: args((w, v) => searchRequest(w, v)),
  listSearches: args(),
  getSearch: args((w, v) => id(`${w} (searchId)`, v)),
  listCases: args(),
  createCase: args((w, v) => {
    const o = record(w, v, ['name', 'description', 'categories'], ['name', 'categories']);
    const name = str(`${w}.name`, o.name, { min: 1, max: LIMITS.caseName });
    if (name.trim() === '') fail(`${w}.name`, 'must not be blank');
    const input: { name: string; description?: string; categories: string[] } = {
      name,
      categories: list(`${w}.categories`, o.categories, LIMITS.categories).map((c, i) =>
        str(`${w}.categories[${i}]`, c, { min: 1, max: LIMITS.categoryName }),
      ),
    };
    if (o.description !== undefined) input.description = str(`${w}.description`, o.description, { max: LIMITS.description, multiline: true });
    return input;
  }),
  getCase: args((w, v) => id(`${w} (caseId)`, v)),
  tagImage: args((w, v) => {
    const o = record(w, v, ['caseId', 'imageId', 'categoryId', 'searchId'], ['caseId', 'imageId', 'categoryId']);
    if (!('searchId' in o)) fail(`${w}.searchId`, 'is required (a search id or null)');
    return {
      caseId: id(`${w}.caseId`, o.caseId),
      imageId: id(`${w}.imageId`, o.imageId),
      categoryId: id(`${w}.categoryId`, o.categoryId),
      searchId: o.searchId === null ? null : id(`${w}.searchId`, o.searchId),
    };
  }),
  untagImage: args((w, v) => {
    const o = record(w, v, ['caseId', 'imageId', 'categoryId'], ['caseId', 'imageId', 'categoryId']);
    return { caseId: id(`${w}.caseId`, o.caseId), imageId: id(`${w}.imageId`, o.imageId), categoryId: id(`${w}.categoryId`, o.categoryId) };
  }),
  setNote: args((w, v) => {
    const o = record(w, v, ['caseId', 'imageId', 'text'], ['caseId', 'imageId', 'text']);
    return {
      caseId: id(`${w}.caseId`, o.caseId),
      imageId: id(`${w}.imageId`, o.imageId),
      text: str(`${w}.text`, o.text, { max: LIMITS.note, multiline: true }),
    };
  }),
  setRelevance: args((w, v) => {
    const o = record(w, v, ['caseId', 'imageId', 'relevant', 'searchId'], ['caseId', 'imageId', 'relevant', 'searchId']);
    return {
      caseId: id(`${w}.caseId`, o.caseId),
      imageId: id(`${w}.imageId`, o.imageId),
      relevant: o.relevant === null ? null : bool(`${w}.relevant`, o.relevant),
      searchId: o.searchId === null ? null : id(`${w}.searchId`, o.searchId),
    };
  }),
  exportCase: args((w, v) => {
    const o = record(w, v, ['caseId', 'format', 'hideKnownIgnorable'], ['caseId', 'format']);
    const format = oneOf(`${w}.format`, o.format, EXPORT_FORMATS);
    if (o.hideKnownIgnorable === undefined) return { caseId: id(`${w}.caseId`, o.caseId), format };
    const hideKnownIgnorable = bool(`${w}.hideKnownIgnorable`, o.hideKnownIgnorable);
    // A VICS export lists hashes for exchange, not a report: leaving files out of it silently is refused.
    if (hideKnownIgnorable && format === 'vics') fail(`${w}.hideKnownIgnorable`, 'applies to the html, csv and json reports, not to vics');
    return { caseId: id(`${w}.caseId`, o.caseId), format, hideKnownIgnorable };
  }),
  tagStack: args((w, v) => {
    const o = record(w, v, ['caseId', 'imageId', 'tier', 'categoryId', 'searchId'], ['caseId', 'imageId', 'tier', 'categoryId']);
    if (!('searchId' in o)) fail(`${w}.searchId`, 'is required (a search id or null)');
    return {
      caseId: id(`${w}.caseId`, o.caseId),
      imageId: id(`${w}.imageId`, o.imageId),
      tier: oneOf(`${w}.tier`, o.tier, STACK_TIERS),
      categoryId: id(`${w}.categoryId`, o.categoryId),
      searchId: o.searchId === null ? null : id(`${w}.searchId`, o.searchId),
    };
  }),
  listDuplicateStacks: args((w, v) => {
    const o = record(w, v, ['tier', 'offset', 'limit'], ['tier']);
    return {
      tier: oneOf(`${w}.tier`, o.tier, STACK_TIERS),
      ...(o.offset !== undefined ? { offset: int(`${w}.offset`, o.offset, 0, LIMITS.k) } : {}),
      ...(o.limit !== undefined ? { limit: int(`${w}.limit`, o.limit, 1, 1000) } : {}),
    };
  }),
  getImageDetails: args((w, v) => id(`${w} (imageId)`, v)),
  browseImages: args((w, v) => {
    const o = record(w, v, ['filter', 'offset', 'limit'], []);
    return {
      ...(o.filter !== undefined ? { filter: searchFilter(`${w}.filter`, o.filter) } : {}),
      ...(o.offset !== undefined ? { offset: int(`${w}.offset`, o.offset, 0, LIMITS.k) } : {}),
      ...(o.limit !== undefined ? { limit: int(`${w}.limit`, o.limit, 1, 1000) } : {}),
    };
  }),
  getSettings: args(),
  setSettings: args((w, v) => settingsPatch(w, v)),
  importHashSet: args((w, v) => {
    const o = record(w, v, ['path', 'name', 'format', 'kind'], ['path']);
    const input: { path: string; name?: string; format?: (typeof HASH_SET_FORMATS)[number]; kind?: (typeof HASH_SET_KINDS)[number] } = {
      path: filePath(`${w}.path`, o.path),
    };
    if (o.name !== undefined) {
      input.name = str(`${w}.name`, o.name, { min: 1, max: LIMITS.hashSetName });
      if (input.name.trim() === '') fail(`${w}.name`, 'must not be blank');
    }
    if (o.format !== undefined) input.format = oneOf(`${w}.format`, o.format, HASH_SET_FORMATS);
    if (o.kind !== undefined) input.kind = oneOf(`${w}.kind`, o.kind, HASH_SET_KINDS);
    return input;
  }),
  cancelHashSetImport: args(),
  listHashSets: args(),
  getKnownMatches: args((w, v) => list(w, v, LIMITS.knownMatchImages).map((x, i) => id(`${w}[${i}]`, x))),
};

/** Validated copies of `given` for `method`; throws ValidationError naming the method and the argument at fault. */
export function validateArgs(method: ApiMethod, given: readonly unknown[]): unknown[] {
  const validator = VALIDATORS[method];
  try {
    return validator(given);
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(`${method}: ${err.message}`);
    throw err;
  }
}
