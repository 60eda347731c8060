// The shell's start-up sequence against a recording stand-in for the electron module: what is configured before
// `ready`, the window's options, the schemes, the handlers, event forwarding, the folder picker and shutdown.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { BrowserWindowConstructorOptions, CustomScheme } from 'electron';
import { API_METHODS, type QuariEvent } from '../../electron/shared/api.ts';
import type { Envelope } from '../../electron/shared/protocol/routes.ts';
import type { Logger } from '../../electron/main/log.ts';
import {
  catalogArgument,
  prepareShell,
  resolveCatalogPath,
  startShell,
  windowOptions,
  type ElectronLike,
  type EngineOptions,
} from '../../electron/main/shell.ts';
import type { AppService as EngineService } from '../../electron/shared/protocol/service.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'quari-shell-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeElectron() {
  const record = {
    switches: [] as [string, string | undefined][],
    sandboxed: false,
    schemes: [] as CustomScheme[],
    paths: new Map<string, string>(),
    name: '',
    appListeners: new Map<string, ((...args: any[]) => void)[]>(),
    protocols: new Map<string, (request: Request) => Promise<Response>>(),
    handlers: new Map<string, (event: unknown, ...args: unknown[]) => unknown>(),
    windows: [] as { options: BrowserWindowConstructorOptions; loaded: string[]; sent: unknown[][]; shown: boolean }[],
    contentsListeners: [] as string[],
    sessionConfigured: [] as string[],
    dialogs: [] as unknown[],
    quits: 0,
  };
  const electron: ElectronLike = {
    app: {
      commandLine: { appendSwitch: (name, value) => void record.switches.push([name, value]) },
      enableSandbox: () => void (record.sandboxed = true),
      requestSingleInstanceLock: () => true,
      whenReady: async () => undefined,
      setName: (name) => void (record.name = name),
      setPath: (name, p) => void record.paths.set(name, p),
      setAppLogsPath: (p) => void record.paths.set('logs', p),
      getPath: (name) => record.paths.get(name) ?? assert.fail(`getPath(${name}) before it was set`),
      on: (event, listener) => {
        record.appListeners.set(event, [...(record.appListeners.get(event) ?? []), listener]);
      },
      quit: () => void record.quits++,
      exit: () => assert.fail('exit'),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes) => void record.schemes.push(...schemes),
      handle: (scheme, handler) => void record.protocols.set(scheme, handler),
    },
    session: {
      defaultSession: {
        webRequest: {
          onBeforeRequest: () => void record.sessionConfigured.push('onBeforeRequest'),
          onHeadersReceived: () => void record.sessionConfigured.push('onHeadersReceived'),
        },
        setPermissionRequestHandler: () => void record.sessionConfigured.push('permissionRequest'),
        setPermissionCheckHandler: () => void record.sessionConfigured.push('permissionCheck'),
        setSpellCheckerEnabled: () => void record.sessionConfigured.push('spellchecker'),
        on: (event: string) => void record.sessionConfigured.push(event),
      },
    },
    ipcMain: {
      handle: (channel, listener) => void record.handlers.set(channel, listener as never),
      removeHandler: (channel) => void record.handlers.delete(channel),
    },
    dialog: {
      showOpenDialog: async (_window, options) => {
        record.dialogs.push(options);
        return { canceled: false, filePaths: ['/media/usb/evidence'] };
      },
      showErrorBox: () => assert.fail('showErrorBox'),
    },
    BrowserWindow: class {
      webContents;
      private readonly state;
      constructor(options: BrowserWindowConstructorOptions) {
        this.state = { options, loaded: [] as string[], sent: [] as unknown[][], shown: false };
        record.windows.push(this.state);
        const state = this.state;
        this.webContents = {
          on: (event: string) => void record.contentsListeners.push(event),
          setWindowOpenHandler: () => void record.contentsListeners.push('windowOpen'),
          send: (channel: string, ...args: unknown[]) => void state.sent.push([channel, ...args]),
          isDestroyed: () => false,
        };
      }
      async loadURL(url: string) {
        this.state.loaded.push(url);
      }
      once(_event: 'ready-to-show', listener: () => void) {
        listener();
      }
      on() {}
      show() {
        this.state.shown = true;
      }
      focus() {}
      isMinimized() {
        return false;
      }
      restore() {}
      isDestroyed() {
        return false;
      }
    },
    screen: { getPrimaryDisplay: () => ({ workAreaSize: { width: 1920, height: 1080 } }) },
  };
  return { electron, record };
}

function fakeEngine() {
  const events = new EventEmitter();
  let closed = 0;
  const engine = { events, close: async () => void closed++, mediaPath: () => null, mediaRoots: () => [] } as Record<string, unknown>;
  for (const m of API_METHODS) if (m !== 'chooseFolder') engine[m] = async () => ({ method: m });
  return { engine: engine as unknown as EngineService, events, closed: () => closed };
}

const silent: Logger = { info() {}, warn() {}, error() {} };

test('prepareShell sets userData, switches, sandbox and privileged schemes before ready', () => {
  const { electron, record } = fakeElectron();
  assert.equal(prepareShell(electron, path.join(dir, 'home')), true);
  assert.equal(record.paths.get('userData'), path.join(dir, 'home'));
  assert.equal(record.paths.get('logs'), path.join(dir, 'home', 'logs'));
  assert.equal(record.name, 'QuARI workstation');
  assert.equal(record.sandboxed, true);
  assert.deepEqual(record.switches[0], ['host-resolver-rules', 'MAP * ~NOTFOUND']);
  assert.deepEqual(
    record.schemes.map((s) => s.scheme),
    ['quari-app', 'quari-media'],
  );
  for (const s of record.schemes) {
    assert.equal(s.privileges?.standard, true);
    assert.equal(s.privileges?.secure, true);
    assert.notEqual(s.privileges?.bypassCSP, true, `${s.scheme} must not bypass the CSP`);
  }
});

test('startShell wires engine, guards, schemes, handlers and a hardened window; forwards events; closes on quit', async () => {
  const { electron, record } = fakeElectron();
  const home = path.join(dir, 'home2');
  prepareShell(electron, home);
  const fake = fakeEngine();
  let engineOptions: EngineOptions | null = null;
  await startShell(electron, {
    argv: ['/opt/quari/quari-workstation', '--catalog', path.join(dir, 'case7.quari')],
    bundleDir: '/opt/quari/resources/app.asar/dist/electron',
    rendererDir: '/opt/quari/resources/app.asar/dist/renderer',
    builtInPacksDir: '/opt/quari/resources/packs',
    createEngine: async (options) => {
      engineOptions = options;
      return fake.engine;
    },
    log: silent,
  });

  assert.deepEqual(engineOptions, {
    catalogPath: path.join(dir, 'case7.quari'),
    dataHome: home,
    builtInPacksDir: '/opt/quari/resources/packs',
  });
  assert.deepEqual(record.sessionConfigured, ['onBeforeRequest', 'onHeadersReceived', 'permissionRequest', 'permissionCheck', 'spellchecker', 'will-download']);
  assert.deepEqual([...record.protocols.keys()].sort(), ['quari-app', 'quari-media']);
  assert.deepEqual([...record.handlers.keys()].sort(), API_METHODS.map((m) => `quari:${m}`).sort());
  assert.ok(record.appListeners.has('web-contents-created'));

  assert.equal(record.windows.length, 1);
  const win = record.windows[0];
  assert.equal(win.options.minWidth, 1280);
  assert.equal(win.options.minHeight, 800);
  assert.equal(win.options.webPreferences?.preload, '/opt/quari/resources/app.asar/dist/electron/preload.cjs');
  assert.equal(win.options.webPreferences?.contextIsolation, true);
  assert.equal(win.options.webPreferences?.sandbox, true);
  assert.equal(win.options.webPreferences?.nodeIntegration, false);
  assert.deepEqual(win.loaded, ['quari-app://ui/index.html']);
  assert.equal(win.shown, true);

  // A request from the app reaches the engine; chooseFolder opens the native picker.
  const appFrame = { senderFrame: { url: 'quari-app://ui/index.html' } };
  assert.deepEqual(await record.handlers.get('quari:getSettings')!(appFrame), { ok: true, value: { method: 'getSettings' } });
  assert.deepEqual(await record.handlers.get('quari:chooseFolder')!(appFrame), { ok: true, value: '/media/usb/evidence' });
  assert.equal(record.dialogs.length, 1);
  const refused = (await record.handlers.get('quari:getSettings')!({ senderFrame: { url: 'https://example.com/' } })) as Envelope;
  assert.equal(refused.ok, false);

  // Engine events reach the window on the event channel.
  const event: QuariEvent = {
    type: 'ingest-progress',
    progress: { runId: '1', root: '/e', state: 'done', total: 1, done: 1, added: 1, skipped: 0, failed: 0, filesPerSecond: 1, etaSeconds: 0 },
  };
  fake.events.emit('event', event);
  assert.deepEqual(win.sent, [['quari:event', event]]);

  // Quitting closes the engine first, then quits again.
  let prevented = false;
  for (const l of record.appListeners.get('will-quit')!) l({ preventDefault: () => (prevented = true) });
  assert.equal(prevented, true);
  await new Promise((r) => setImmediate(r));
  assert.equal(fake.closed(), 1);
  assert.equal(record.quits, 1);
  fake.events.emit('event', event);
  assert.equal(win.sent.length, 1, 'no events after shutdown began');
});

test('the catalog comes from --catalog (either form) or defaults under userData', () => {
  assert.equal(catalogArgument(['electron', 'main.mjs', '--catalog', 'a.quari']), 'a.quari');
  assert.equal(catalogArgument(['x', '--catalog=/b.quari']), '/b.quari');
  assert.equal(catalogArgument(['x', '--catalog']), null);
  assert.equal(resolveCatalogPath(['x'], '/home/a/.local/share/quari-workstation'), '/home/a/.local/share/quari-workstation/catalogs/default.quari');
  assert.equal(resolveCatalogPath(['x', '--catalog', 'rel.quari'], '/u'), path.resolve('rel.quari'));
});

test('window size respects the 1280×800 minimum, shrinking it only for smaller screens', () => {
  const big = windowOptions('/p.cjs', { width: 2560, height: 1440 });
  assert.equal(big.minWidth, 1280);
  assert.equal(big.minHeight, 800);
  assert.ok(big.width! >= 1280 && big.height! >= 800);
  const laptop = windowOptions('/p.cjs', { width: 1366, height: 728 });
  assert.equal(laptop.minWidth, 1280);
  assert.equal(laptop.minHeight, 728);
  assert.ok(laptop.height! <= 728);
});
