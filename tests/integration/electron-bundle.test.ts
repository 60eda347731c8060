// The packaged code itself, without Electron's binary: `npm run build:electron` output is checked for what a
// sandboxed preload and a packaged main process may import, the preload bundle is run against a stand-in
// contextBridge/ipcRenderer, and the main bundle is run in Node with a stand-in `electron` module while the REAL
// engine behind it ingests a folder (through the bundled encoder worker), searches and closes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { buildElectron } from '../../scripts/build-electron.mjs';
import { defaultPack } from './ingest-helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let appRoot: string;
let outDir: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'quari-bundle-'));
  // An app folder laid out like app.asar: bundles under dist/electron, the UI under dist/renderer, binding.gyp and
  // the kernels' build/ at the root, node_modules beside them.
  appRoot = path.join(dir, 'app');
  outDir = await buildElectron(path.join(appRoot, 'dist', 'electron'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function specifiers(code: string): string[] {
  const found = new Set<string>();
  for (const re of [/\bimport\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/g, /\bimport\(\s*["']([^"']+)["']\s*\)/g, /\brequire\(\s*["']([^"']+)["']\s*\)/g]) {
    for (const m of code.matchAll(re)) found.add(m[1]);
  }
  return [...found];
}

test('preload.cjs is one CommonJS file whose only require is electron', () => {
  const code = readFileSync(path.join(outDir, 'preload.cjs'), 'utf8');
  assert.deepEqual(specifiers(code), ['electron']);
  assert.doesNotMatch(code, /^\s*import\s/m);
});

test('main.mjs imports only electron, Node built-ins and packaged runtime dependencies; its worker URL exists', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const runtime = new Set(Object.keys(pkg.dependencies));
  const builtins = new Set(builtinModules);
  for (const file of ['main.mjs', 'encoder-worker.mjs', 'verify-worker.mjs', 'import-worker.mjs']) {
    const code = readFileSync(path.join(outDir, file), 'utf8');
    for (const spec of specifiers(code)) {
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      const ok = spec === 'electron' || spec.startsWith('node:') || builtins.has(spec) || runtime.has(name);
      assert.ok(ok, `${file} imports "${spec}", which the packaged app does not have`);
    }
    // Every `new URL('./x', import.meta.url)` must name a file shipped next to the bundle.
    for (const m of code.matchAll(/new URL\(\s*["']\.\/([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) {
      assert.doesNotThrow(() => readFileSync(path.join(outDir, m[1])), `${file} refers to ./${m[1]}, which is not in dist/electron`);
    }
  }
  assert.match(readFileSync(path.join(outDir, 'main.mjs'), 'utf8'), /encoder-worker\.mjs/);
  assert.match(readFileSync(path.join(outDir, 'main.mjs'), 'utf8'), /verify-worker\.mjs/);
  assert.match(readFileSync(path.join(outDir, 'main.mjs'), 'utf8'), /import-worker\.mjs/);
});

test('the preload bundle exposes window.quari through contextBridge and unwraps IPC envelopes', async () => {
  const code = readFileSync(path.join(outDir, 'preload.cjs'), 'utf8');
  const exposed = new Map<string, any>();
  const invoked: unknown[][] = [];
  const listeners = new Map<string, Set<(...a: unknown[]) => void>>();
  const fakeElectron = {
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.set(key, api) },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        invoked.push([channel, ...args]);
        if (channel === 'quari:getCase') return { ok: false, error: { code: 'not-found', message: 'case 3 does not exist' } };
        return { ok: true, value: { channel } };
      },
      on: (channel: string, l: (...a: unknown[]) => void) => void (listeners.get(channel) ?? listeners.set(channel, new Set()).get(channel)!).add(l),
      removeListener: (channel: string, l: (...a: unknown[]) => void) => void listeners.get(channel)?.delete(l),
    },
  };
  // A sandboxed preload sees a `require` that only knows a few modules; give it exactly electron.
  const sandboxRequire = (name: string) => {
    if (name === 'electron') return fakeElectron;
    throw new Error(`module not found: ${name}`);
  };
  const module = { exports: {} };
  vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports, Object, Promise, Error, Set, Map, TypeError });
  assert.deepEqual([...exposed.keys()], ['quari']);
  const api = exposed.get('quari');
  assert.deepEqual(await api.listCases(), { channel: 'quari:listCases' });
  await assert.rejects(api.getCase(3), (err: any) => err.code === 'not-found' && err.message === 'case 3 does not exist');
  assert.deepEqual(invoked, [['quari:listCases'], ['quari:getCase', 3]]);
  const seen: unknown[] = [];
  const off = api.onEvent((e: unknown) => seen.push(e));
  for (const l of listeners.get('quari:event') ?? []) l({}, { type: 'ingest-progress' });
  off();
  assert.equal(listeners.get('quari:event')?.size, 0);
  assert.deepEqual(seen, [{ type: 'ingest-progress' }]);
});

// The stand-in electron module for the main bundle. It records what the shell configures, and once the window has
// loaded it drives the app the way the renderer would, then quits; the result is printed as one JSON line.
const FAKE_ELECTRON = String.raw`
import { EventEmitter } from 'node:events';
const rec = { switches: [], schemes: [], protocols: {}, handlers: {}, sessionHooks: {}, contents: {}, sent: [], windows: [], log: [] };
const appEvents = new EventEmitter();
const paths = new Map();
const frame = { senderFrame: { url: 'quari-app://ui/index.html' } };
let driving = false;
export const app = {
  isPackaged: false,
  commandLine: { appendSwitch: (n, v) => rec.switches.push([n, v]) },
  enableSandbox() {}, requestSingleInstanceLock: () => true, whenReady: async () => {},
  setName(n) { rec.name = n; }, setPath: (n, p) => paths.set(n, p), setAppLogsPath: (p) => paths.set('logs', p),
  getPath: (n) => paths.get(n),
  on: (e, l) => appEvents.on(e, l),
  quit() {
    const ev = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    appEvents.emit('will-quit', ev);
    if (!ev.defaultPrevented) { console.log('FAKE_ELECTRON_RESULT=' + JSON.stringify(rec)); process.exit(0); }
  },
  exit(code) { console.log('FAKE_ELECTRON_ERROR'); process.exit(code); },
};
export const protocol = {
  registerSchemesAsPrivileged: (s) => rec.schemes.push(...s.map((x) => x.scheme)),
  handle: (scheme, h) => { rec.protocols[scheme] = h; },
};
export const session = { defaultSession: {
  webRequest: { onBeforeRequest: (l) => { rec.sessionHooks.beforeRequest = l; }, onHeadersReceived: (l) => { rec.sessionHooks.headers = l; } },
  setPermissionRequestHandler() {}, setPermissionCheckHandler() {}, setSpellCheckerEnabled() {}, on() {},
} };
export const ipcMain = { handle: (c, h) => { rec.handlers[c] = h; }, removeHandler() {} };
export const dialog = { showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showErrorBox: (t, m) => console.log('FAKE_ELECTRON_ERRORBOX=' + t + ': ' + m) };
export const screen = { getPrimaryDisplay: () => ({ workAreaSize: { width: 1920, height: 1080 } }) };
export class BrowserWindow {
  constructor(options) {
    rec.windows.push({ minWidth: options.minWidth, minHeight: options.minHeight, webPreferences: options.webPreferences });
    const listeners = {};
    this.webContents = {
      on: (e, l) => { listeners[e] = l; }, setWindowOpenHandler: (h) => { listeners.open = h; },
      send: (c, e) => rec.sent.push([c, e]), isDestroyed: () => false,
    };
    appEvents.emit('web-contents-created', {}, this.webContents);
    this.listeners = listeners;
  }
  once(e, l) { if (e === 'ready-to-show') setImmediate(l); }
  on() {} show() {} focus() {} restore() {} isMinimized() { return false; } isDestroyed() { return false; }
  async loadURL(url) {
    rec.loaded = url;
    if (!driving) { driving = true; setTimeout(() => drive(this).catch((e) => { console.log('FAKE_ELECTRON_DRIVE_FAILED=' + e.stack); process.exit(3); }), 0); }
  }
}
const call = (m, ...a) => rec.handlers['quari:' + m](frame, ...a);
async function drive(win) {
  const index = await rec.protocols['quari-app'](new Request(rec.loaded));
  rec.index = { status: index.status, csp: index.headers.get('content-security-policy'), body: await index.text() };
  let blocked; rec.sessionHooks.beforeRequest({ url: 'https://example.com/beacon', resourceType: 'ping' }, (r) => { blocked = r; });
  rec.blocked = blocked;
  const nav = { prevented: false, preventDefault() { this.prevented = true; } };
  win.listeners['will-navigate'](nav, 'https://example.com/'); rec.navigationPrevented = nav.prevented;
  rec.windowOpen = win.listeners.open({ url: 'https://example.com/' });
  rec.info = await call('getCatalogInfo');
  rec.badCase = await call('getCase', 'seven');
  rec.untrusted = await rec.handlers['quari:getCatalogInfo']({ senderFrame: { url: 'https://example.com/' } });
  const done = new Promise((resolve) => {
    const timer = setInterval(() => {
      const last = rec.sent.filter(([c, e]) => c === 'quari:event' && ['done', 'failed', 'cancelled'].includes(e.progress.state)).at(-1);
      if (last) { clearInterval(timer); resolve(last[1].progress); }
    }, 50);
  });
  rec.ingestStart = await call('startIngest', process.env.FAKE_EVIDENCE);
  rec.ingest = await done;
  const query = await call('addQueryImage', { name: 'q.png', bytes: new Uint8Array(Buffer.from(process.env.FAKE_QUERY_B64, 'base64')) });
  rec.query = query;
  rec.search = await call('search', { queryImageId: query.value.queryImageId, crops: [], mode: 'baseline', k: 0, top: 10 });
  const hit = rec.search.value?.hits?.[0];
  if (hit) {
    const thumb = await rec.protocols['quari-media'](new Request(hit.thumbnailUrl));
    rec.thumb = { status: thumb.status, type: thumb.headers.get('content-type') };
  }
  app.quit();
}
`;

test('the main bundle starts in Node against a stand-in electron module and serves the real engine', { timeout: 300_000 }, async () => {
  await defaultPack();
  // The app folder: the UI, the built packs and the search kernels where main.mjs and the kernels loader look.
  mkdirSync(path.join(appRoot, 'dist', 'renderer'), { recursive: true });
  writeFileSync(path.join(appRoot, 'dist', 'renderer', 'index.html'), '<!doctype html><title>QuARI bundle test</title>');
  mkdirSync(path.join(appRoot, 'native-models', 'packs'), { recursive: true });
  symlinkSync(path.join(ROOT, 'native-models', 'packs', 'built'), path.join(appRoot, 'native-models', 'packs', 'built'));
  copyFileSync(path.join(ROOT, 'binding.gyp'), path.join(appRoot, 'binding.gyp'));
  symlinkSync(path.join(ROOT, 'build'), path.join(appRoot, 'build'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(appRoot, 'node_modules'));

  const evidence = path.join(dir, 'evidence');
  mkdirSync(evidence);
  const images: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const raw = Buffer.alloc(96 * 72 * 3, 30);
    for (let y = 10; y < 40; y++) for (let x = 10 + i * 20; x < 40 + i * 20; x++) raw.set([200, 40 * i, 255 - 60 * i], (y * 96 + x) * 3);
    images.push(await sharp(raw, { raw: { width: 96, height: 72, channels: 3 } }).png().toBuffer());
    writeFileSync(path.join(evidence, `IMG_${i}.png`), images[i]);
  }

  writeFileSync(path.join(dir, 'fake-electron.mjs'), FAKE_ELECTRON);
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `export async function resolve(spec, context, next) {
       if (spec === 'electron') return { url: ${JSON.stringify(pathToFileURL(path.join(dir, 'fake-electron.mjs')).href)}, shortCircuit: true };
       return next(spec, context);
     }`,
  );
  writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module'; register('./hooks.mjs', import.meta.url);`);

  const catalog = path.join(dir, 'bundle.quari');
  const child = spawn(process.execPath, ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, path.join(outDir, 'main.mjs'), '--catalog', catalog], {
    cwd: dir,
    env: { ...process.env, QUARI_HOME: path.join(dir, 'home'), FAKE_EVIDENCE: evidence, FAKE_QUERY_B64: images[1].toString('base64') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = /^FAKE_ELECTRON_RESULT=(.*)$/m.exec(stdout);
  assert.ok(line, `the main bundle did not run to a clean quit (exit ${code})\n${stdout}\n${stderr}`);
  assert.equal(code, 0);
  const rec = JSON.parse(line[1]);

  assert.equal(rec.name, 'QuARI workstation');
  assert.deepEqual(rec.schemes, ['quari-app', 'quari-media']);
  assert.ok(rec.switches.some(([n, v]: [string, string]) => n === 'host-resolver-rules' && v === 'MAP * ~NOTFOUND'));
  assert.equal(rec.loaded, 'quari-app://ui/index.html');
  assert.equal(rec.windows[0].minWidth, 1024);
  assert.equal(rec.windows[0].webPreferences.sandbox, true);
  assert.equal(rec.windows[0].webPreferences.contextIsolation, true);
  assert.equal(rec.windows[0].webPreferences.preload, path.join(outDir, 'preload.cjs'));
  assert.equal(rec.index.status, 200);
  assert.match(rec.index.csp, /script-src 'self'/);
  assert.match(rec.index.body, /QuARI bundle test/);
  assert.deepEqual(rec.blocked, { cancel: true });
  assert.equal(rec.navigationPrevented, true);
  assert.deepEqual(rec.windowOpen, { action: 'deny' });

  assert.equal(rec.info.ok, true);
  assert.equal(rec.info.value.catalogPath, catalog);
  assert.equal(rec.info.value.activePackId, 'mobilenetv2-nsfwjs');
  assert.equal(rec.badCase.ok, false);
  assert.equal(rec.badCase.error.code, 'bad-request');
  assert.equal(rec.untrusted.ok, false);

  assert.equal(rec.ingestStart.ok, true);
  assert.equal(rec.ingest.state, 'done', rec.ingest.error);
  assert.equal(rec.ingest.added, 3);
  assert.equal(rec.search.ok, true, JSON.stringify(rec.search.error));
  assert.equal(rec.search.value.hits.length, 3);
  assert.equal(path.basename(rec.search.value.hits[0].path), 'IMG_1.png');
  assert.deepEqual(rec.thumb.status, 200);
  // The log went to the data folder's logs/, as userData was set to QUARI_HOME.
  assert.match(readFileSync(path.join(dir, 'home', 'logs', 'main.log'), 'utf8'), /start: catalog .*bundle\.quari/);
});
