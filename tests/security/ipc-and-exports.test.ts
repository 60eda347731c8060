// The same attacks as web-host.test.ts through Electron's transport (registerApiHandlers over the shared
// dispatch, with the real AppService on a real catalog), the Electron media scheme's MIME guard (11.10), and the
// guards that held on the export side: HTML escaping, CSV formula guarding, no {@html} anywhere in the UI.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openCatalog } from '../../db/CatalogStore.ts';
import { catalogDataDir } from '../../electron/engine/catalogData.ts';
import { createAppService } from '../../electron/engine/app/AppService.ts';
import { buildCaseReport, writeCaseExport } from '../../electron/engine/export/caseExport.ts';
import { registerApiHandlers, type InvokeEventLike } from '../../electron/main/ipc.ts';
import { createMediaHandler } from '../../electron/main/protocol.ts';
import type { Envelope } from '../../electron/shared/protocol/routes.ts';
import type { AppService } from '../../electron/shared/protocol/service.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'quari-sec-ipc-'));
const catalogPath = path.join(dir, 'catalog.quari');
const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
const quiet = { info() {}, warn() {}, error() {} };
let service: AppService;
let htmlThumbId: number;

before(async () => {
  const store = openCatalog(catalogPath);
  mkdirSync(path.join(catalogDataDir(catalogPath), 'thumbs'), { recursive: true });
  writeFileSync(path.join(catalogDataDir(catalogPath), 'thumbs', 'evil.html'), '<script>alert(1)</script>');
  writeFileSync(path.join(dir, 'a.jpg'), 'JPEG');
  const id = store.upsertPendingImage({ path: path.join(dir, 'a.jpg'), size: 4, mtimeMs: 1 });
  store.markImageOk(id, { sha256: 'ab'.repeat(32), width: 4, height: 4, format: 'jpeg', thumbnail: 'thumbs/evil.html' });
  htmlThumbId = id;
  store.close();
  service = await createAppService({ catalogPath, dataHome: path.join(dir, 'home') });
  registerApiHandlers(
    { handle: (channel, listener) => handlers.set(channel, listener), removeHandler: (channel) => handlers.delete(channel) },
    service,
    { log: quiet, isTrustedSender: () => true, chooseFolder: async () => null },
  );
});

after(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function invoke(method: string, ...args: unknown[]): Promise<Envelope> {
  return (await handlers.get(`quari:${method}`)!({ senderFrame: { url: 'quari-app://ui/index.html' } }, ...args)) as Envelope;
}

async function refused(method: string, args: unknown[], field: RegExp) {
  const result = await invoke(method, ...args);
  assert.equal(result.ok, false, `${method} was accepted`);
  if (result.ok) return;
  assert.equal(result.error.code, 'bad-request', `${method}: ${result.error.message}`);
  assert.match(result.error.message, field);
}

test('IPC: the attacks of issue 11.1 and 11.2 are refused by the same dispatch, naming the field', async () => {
  const created = await invoke('createCase', { name: 'IPC case', categories: ['lamp'] });
  assert.ok(created.ok);
  const caseId = (created.value as { caseId: number }).caseId;
  await refused('exportCase', [{ caseId, format: `/../../../../..${dir}/a.jpg` }], /argument 1\.format: must be one of "html", "csv", "json"/);
  assert.equal(readFileSync(path.join(dir, 'a.jpg'), 'utf8'), 'JPEG');
  await refused('createCase', [{ name: 'x', categories: 'abc' }], /argument 1\.categories: expected an array, got string/);
  await refused('createCase', [{ name: 'a\u001bb', categories: [] }], /argument 1\.name: contains control characters/);
  await refused('createCase', [{ name: 'a\u0000b', categories: [] }], /argument 1\.name: contains control characters/);
  await refused('search', [{ queryImageId: 'q', crops: Array.from({ length: 500 }, () => ({ x: 0, y: 0, w: 1, h: 1 })), mode: 'baseline' }], /at most 32 entries/);
  await refused('setNote', [{ caseId, imageId: htmlThumbId, text: 'x'.repeat(50 * 1024 * 1024) }], /at most 20000 characters/);
  await refused('setSettings', [{ theme: 'dark' }], /unknown field "theme"/);
  await refused('startIngest', ['.'], /must be an absolute folder path/);
  await refused('getCase', ['1'], /argument 1 \(caseId\): expected a positive integer id, got string/);
  // Structured clone keeps an own "__proto__" key, as JSON.parse makes one.
  await refused('setSettings', [JSON.parse('{"__proto__":{"blurAll":true}}')], /unknown field "__proto__"/);
  const settings = await invoke('getSettings');
  assert.ok(settings.ok);
  const { examiner, ...rest } = settings.value as { examiner: string };
  assert.deepEqual(rest, { blurAll: false, explicitThreshold: 0.5 });
  assert.ok(examiner.length > 0, 'the examiner defaults to the OS user');
});

test('IPC: an internal failure answers a generic message; the details stay in the log', async () => {
  const lines: string[] = [];
  const local = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  const broken = new Proxy(service, {
    get: (target, key) => (key === 'listCases' ? async () => (null as unknown as { rows: unknown[] }).rows : Reflect.get(target, key)),
  });
  registerApiHandlers({ handle: (c, l) => local.set(c, l), removeHandler: () => {} }, broken, {
    log: { ...quiet, error: (m) => lines.push(m) },
    isTrustedSender: () => true,
    chooseFolder: async () => null,
  });
  const result = (await local.get('quari:listCases')!({ senderFrame: { url: 'quari-app://ui/index.html' } })) as Envelope;
  assert.deepEqual(result, { ok: false, error: { code: 'internal', message: "listCases failed with an internal error (details are in the host's log)" } });
  assert.ok(lines.some((l) => /TypeError: Cannot read properties of null/.test(l)), 'the stack went to the log');
});

test('Electron media scheme: a thumbnail that is HTML is refused, never served as a document', async () => {
  const media = createMediaHandler({ source: service, log: quiet });
  const r = await media(new Request(`quari-media://thumb/${htmlThumbId}`));
  assert.equal(r.status, 403);
  assert.doesNotMatch(r.headers.get('content-type') ?? '', /html/);
  assert.doesNotMatch(await r.text(), /<script>/);
});

test('exports escape hostile evidence text in HTML and guard formulas in CSV', () => {
  const file = path.join(dir, 'hostile.quari');
  const store = openCatalog(file);
  const hostilePath = '/ev/"><img src=x onerror=alert(1)><script>alert(2)</script>.jpg';
  const imageId = store.commitIngestedImage({ path: hostilePath, size: 1, mtimeMs: 1, meta: { sha256: 'cd'.repeat(32), width: 1, height: 1, format: 'jpeg' }, embeddings: [] });
  const kase = store.createCase({ name: '<b>case</b>', categories: ['=cmd|"/c calc"!A1'] });
  const [category] = store.listCategories(kase.id);
  store.tagImage({ caseId: kase.id, imageId, categoryId: category!.id, searchId: null });
  store.setNote(kase.id, imageId, '=HYPERLINK("http://x","click")');
  const report = buildCaseReport(store, kase.id);
  const out = path.join(dir, 'exports');
  const html = readFileSync(writeCaseExport(report, 'html', out, dir).path, 'utf8');
  assert.doesNotMatch(html, /<script|<img src=x|"><img|<b>case<\/b>/);
  assert.ok(html.includes('&#60;script&#62;alert(2)&#60;/script&#62;'));
  const csv = readFileSync(writeCaseExport(report, 'csv', out, dir).path, 'utf8');
  const row = csv.split('\r\n')[1]!;
  assert.ok(row.includes(`"'=cmd|""/c calc""!A1"`), row);
  assert.ok(row.includes(`"'=HYPERLINK(""http://x"",""click"")"`), row);
  assert.throws(() => writeCaseExport(report, '../../x' as never, out, dir), { code: 'bad-request' });
  assert.equal(readdirSync(out).length, 2, 'two exports, no temporary files');
  store.close();
});

test('the UI never renders raw HTML ({@html} appears in no Svelte file)', () => {
  const root = path.resolve(import.meta.dirname, '../../renderer/src');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/\.(svelte|ts)$/.test(e.name)) files.push(path.join(d, e.name));
    }
  };
  walk(root);
  assert.ok(files.filter((f) => f.endsWith('.svelte')).length > 10, 'the renderer sources were found');
  for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), /\{@html/, f);
});
