// The Electron shell composed from its parts: privileged schemes and Chromium switches before `ready`, then the
// engine, network guards, protocols, IPC handlers and the window. Electron arrives as a parameter (main.ts passes
// the real module) so the whole start-up sequence also runs in plain Node tests against test doubles.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserWindowConstructorOptions, CustomScheme, OpenDialogOptions, OpenDialogReturnValue } from 'electron';
import type { QuariEvent } from '../shared/api.ts';
import { CONTENT_SECURITY_POLICY, EVENT_CHANNEL } from '../shared/protocol/routes.ts';
import type { AppService } from '../shared/protocol/service.ts';
import { registerApiHandlers, type IpcLike } from './ipc.ts';
import { createFileLogger, type Logger } from './log.ts';
import { APP_ENTRY_URL, APP_SCHEME, MEDIA_SCHEME, createAppHandler, createMediaHandler } from './protocol.ts';
import {
  CHROMIUM_SWITCHES,
  hardenWebContents,
  installNetworkGuards,
  isAppUrl,
  secureWebPreferences,
  type SessionLike,
  type WebContentsLike,
} from './security.ts';

export interface EngineOptions {
  catalogPath: string;
  dataHome: string;
  builtInPacksDir: string;
}

export interface WindowLike {
  webContents: WebContentsLike & { send(channel: string, ...args: unknown[]): void; isDestroyed(): boolean };
  loadURL(url: string): Promise<void>;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
  show(): void;
  focus(): void;
  isMinimized(): boolean;
  restore(): void;
  isDestroyed(): boolean;
}

/** The parts of the `electron` module the shell uses. */
export interface ElectronLike {
  app: {
    commandLine: { appendSwitch(name: string, value?: string): void };
    enableSandbox(): void;
    requestSingleInstanceLock(): boolean;
    whenReady(): Promise<unknown>;
    setName(name: string): void;
    setPath(name: 'userData', path: string): void;
    setAppLogsPath(path: string): void;
    getPath(name: 'userData' | 'logs'): string;
    on(event: string, listener: (...args: any[]) => void): unknown;
    quit(): void;
    exit(code?: number): void;
  };
  protocol: {
    registerSchemesAsPrivileged(schemes: CustomScheme[]): void;
    handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
  };
  session: { defaultSession: SessionLike };
  ipcMain: IpcLike;
  dialog: {
    showOpenDialog(window: any, options: OpenDialogOptions): Promise<OpenDialogReturnValue>;
    showErrorBox(title: string, content: string): void;
  };
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => WindowLike;
  screen: { getPrimaryDisplay(): { workAreaSize: { width: number; height: number } } };
}

export interface ShellOptions {
  argv: readonly string[];
  /** Folder holding the bundles: main.mjs, preload.cjs (dist/electron). */
  bundleDir: string;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** The default model pack shipped with the app (resources/packs once packaged). */
  builtInPacksDir: string;
  createEngine(options: EngineOptions): Promise<AppService>;
  /** Test seam for the log; defaults to <logs>/main.log. */
  log?: Logger;
}

export const APP_NAME = 'QuARI workstation';
export const MIN_WINDOW = { width: 1280, height: 800 } as const;

/** Both schemes are standard (relative URLs, origins) and secure (no mixed-content downgrade); only the app scheme runs script. */
export const PRIVILEGED_SCHEMES: CustomScheme[] = [
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
];

/** `--catalog <file>` or `--catalog=<file>`; null when absent. */
export function catalogArgument(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--catalog' && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--catalog=')) return a.slice('--catalog='.length);
  }
  return null;
}

/** The catalog opened at start: the one named on the command line, else `<userData>/catalogs/default.quari`. */
export function resolveCatalogPath(argv: readonly string[], userData: string): string {
  const given = catalogArgument(argv);
  return given ? path.resolve(given) : path.join(userData, 'catalogs', 'default.quari');
}

export function windowOptions(preload: string, workArea: { width: number; height: number }): BrowserWindowConstructorOptions {
  // Never ask for more than the screen has: a 1366×768 laptop still gets a usable (if cramped) window.
  const minWidth = Math.min(MIN_WINDOW.width, workArea.width);
  const minHeight = Math.min(MIN_WINDOW.height, workArea.height);
  return {
    width: Math.max(minWidth, Math.min(1600, workArea.width)),
    height: Math.max(minHeight, Math.min(1000, workArea.height)),
    minWidth,
    minHeight,
    show: false,
    title: APP_NAME,
    backgroundColor: '#1e1e1e',
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(preload),
  };
}

/**
 * Runs before `ready`: must be called synchronously at start-up. `dataHome` becomes userData (catalogs, settings,
 * packs) with logs under it; it is the CLI's data folder too, so `quari pack import` installs packs the app sees.
 * Returns false when another instance owns the app.
 */
export function prepareShell(electron: ElectronLike, dataHome: string): boolean {
  electron.app.setName(APP_NAME);
  electron.app.setPath('userData', dataHome);
  electron.app.setAppLogsPath(path.join(dataHome, 'logs'));
  for (const [name, value] of CHROMIUM_SWITCHES) electron.app.commandLine.appendSwitch(name, value);
  electron.app.enableSandbox();
  electron.protocol.registerSchemesAsPrivileged(PRIVILEGED_SCHEMES);
  return electron.app.requestSingleInstanceLock();
}

export interface RunningShell {
  window: WindowLike;
  engine: AppService;
  log: Logger;
}

/** After prepareShell: waits for `ready`, opens the engine, installs guards, handlers and the window. */
export async function startShell(electron: ElectronLike, options: ShellOptions): Promise<RunningShell> {
  const { app } = electron;
  await app.whenReady();
  const userData = app.getPath('userData');
  const log = options.log ?? createFileLogger(app.getPath('logs'));
  log.info(`start: userData ${userData}`);

  // Every webContents, including any the app never meant to create, gets the same hardening.
  app.on('web-contents-created', (_event: unknown, contents: WebContentsLike) => hardenWebContents(contents, log));
  installNetworkGuards(electron.session.defaultSession, log);

  const catalogPath = resolveCatalogPath(options.argv, userData);
  mkdirSync(path.dirname(catalogPath), { recursive: true });
  log.info(`start: catalog ${catalogPath}`);
  const engine = await options.createEngine({ catalogPath, dataHome: userData, builtInPacksDir: options.builtInPacksDir });

  electron.protocol.handle(APP_SCHEME, createAppHandler({ root: options.rendererDir, csp: CONTENT_SECURITY_POLICY, log }));
  electron.protocol.handle(MEDIA_SCHEME, createMediaHandler({ source: engine, log }));

  const { workAreaSize } = electron.screen.getPrimaryDisplay();
  const window = new electron.BrowserWindow(windowOptions(path.join(options.bundleDir, 'preload.cjs'), workAreaSize));

  registerApiHandlers(electron.ipcMain, engine, {
    log,
    isTrustedSender: (event) => isAppUrl(event.senderFrame?.url),
    chooseFolder: async () => {
      const result = await electron.dialog.showOpenDialog(window, {
        title: 'Choose an evidence folder',
        properties: ['openDirectory', 'dontAddToRecent'],
      });
      return result.canceled || result.filePaths.length === 0 ? null : result.filePaths[0];
    },
  });

  const forward = (event: QuariEvent) => {
    if (!window.isDestroyed() && !window.webContents.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event);
  };
  engine.events.on('event', forward);

  let closing = false;
  app.on('window-all-closed', () => app.quit());
  app.on('second-instance', () => {
    if (window.isDestroyed()) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('will-quit', (event: { preventDefault(): void }) => {
    if (closing) return;
    // Close the catalog (flush SQLite, stop workers) before the process goes.
    closing = true;
    event.preventDefault();
    engine.events.off('event', forward);
    Promise.resolve()
      .then(() => engine.close())
      .catch((err: unknown) => log.error(`quit: closing the engine failed: ${(err as Error).message}`))
      .finally(() => app.quit());
  });

  window.once('ready-to-show', () => window.show());
  await window.loadURL(APP_ENTRY_URL);
  log.info('start: window loaded');
  return { window, engine, log };
}
