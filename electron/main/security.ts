// The window's security posture, after Electron's security checklist: isolated, sandboxed renderer without Node;
// a strict CSP; no request leaves the machine (every URL outside the app's own schemes is cancelled and logged);
// no navigation, popups, webviews, downloads or permissions. Written against minimal structural interfaces so the
// wiring is exercised in plain Node tests; main.ts hands in Electron's real session and webContents.
import type { WebPreferences } from 'electron';
import type { Logger } from './log.ts';
import { CONTENT_SECURITY_POLICY } from '../shared/protocol/routes.ts';
import { APP_ORIGIN, APP_SCHEME, MEDIA_SCHEME } from './protocol.ts';

/** Schemes a request may use: the app's own two, in-page data/blob URLs, and the built-in devtools. */
export const ALLOWED_SCHEMES: ReadonlySet<string> = new Set([`${APP_SCHEME}:`, `${MEDIA_SCHEME}:`, 'data:', 'blob:', 'devtools:']);

/** Chromium switches applied before `ready`: no host name resolves, and background fetches stay off. */
export const CHROMIUM_SWITCHES: readonly (readonly [string, string?])[] = [
  // Belt and braces under the request filter: anything that bypasses webRequest still cannot resolve a host.
  ['host-resolver-rules', 'MAP * ~NOTFOUND'],
  ['disable-background-networking'],
  ['disable-component-update'],
  ['disable-domain-reliability'],
  ['no-pings'],
];

export function isAllowedRequestUrl(url: string): boolean {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return false;
  }
  return ALLOWED_SCHEMES.has(protocol);
}

/** True for a document served by the app itself (the only origin that may navigate or call the API). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (typeof url !== 'string') return false;
  // Compared by parts: WHATWG URL gives custom schemes an opaque origin ("null") outside Chromium.
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN && !u.username && !u.password;
  } catch {
    return false;
  }
}

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    // Chromium's spellchecker downloads dictionaries from the internet.
    spellcheck: false,
    enableWebSQL: false,
    safeDialogs: true,
  };
}

// --- session ------------------------------------------------------------------------------------------------

export interface RequestDetailsLike {
  url: string;
  resourceType?: string;
  webContentsId?: number;
}

export interface HeadersDetailsLike {
  url: string;
  responseHeaders?: Record<string, string[]>;
}

/** The parts of Electron's Session that the guards configure. */
export interface SessionLike {
  webRequest: {
    onBeforeRequest(listener: (details: RequestDetailsLike, callback: (response: { cancel?: boolean }) => void) => void): void;
    onHeadersReceived(
      listener: (details: HeadersDetailsLike, callback: (response: { responseHeaders?: Record<string, string[]> }) => void) => void,
    ): void;
  };
  setPermissionRequestHandler(
    handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl?: string }) => void,
  ): void;
  setPermissionCheckHandler(handler: (webContents: unknown, permission: string, requestingOrigin: string) => boolean): void;
  setSpellCheckerEnabled(enabled: boolean): void;
  on(event: 'will-download', listener: (event: { preventDefault(): void }, item: { getURL(): string }) => void): unknown;
}

/** Copying a path or hash to the clipboard is the one capability the UI may ask for, and only from the app. */
const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

export function installNetworkGuards(session: SessionLike, log: Logger): void {
  session.webRequest.onBeforeRequest((details, callback) => {
    if (isAllowedRequestUrl(details.url)) {
      callback({});
      return;
    }
    log.warn(`network: blocked ${details.resourceType ?? 'request'} to ${details.url.slice(0, 500)} (webContents ${details.webContentsId ?? '?'})`);
    callback({ cancel: true });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    // Every response the window receives carries the CSP; lower-case keys replace any the response already had.
    const headers: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(details.responseHeaders ?? {})) {
      if (key.toLowerCase() !== 'content-security-policy') headers[key] = value;
    }
    headers['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_wc, permission, callback, details) => {
    const granted = GRANTED_PERMISSIONS.has(permission) && isAppUrl(details?.requestingUrl);
    if (!granted) log.warn(`permission: denied ${permission} to ${details?.requestingUrl ?? 'unknown origin'}`);
    callback(granted);
  });
  session.setPermissionCheckHandler((_wc, permission, origin) => GRANTED_PERMISSIONS.has(permission) && isAppUrl(`${origin}/`));
  session.setSpellCheckerEnabled(false);
  session.on('will-download', (event, item) => {
    // Exports are written by the main process; the renderer never saves files itself.
    log.warn(`download: blocked ${item.getURL().slice(0, 500)}`);
    event.preventDefault();
  });
}

// --- webContents --------------------------------------------------------------------------------------------

export interface PreventableLike {
  preventDefault(): void;
}

/** The parts of Electron's WebContents that hardening configures. */
export interface WebContentsLike {
  on(event: string, listener: (...args: any[]) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export function hardenWebContents(contents: WebContentsLike, log: Logger): void {
  // The target is on the event (Electron ≥ 25); the positional url argument is deprecated.
  const refuseNavigation = (kind: string) => (event: PreventableLike & { url?: string }, url?: string) => {
    const target = event.url ?? url;
    if (isAppUrl(target)) return;
    log.warn(`navigation: blocked ${kind} to ${String(target).slice(0, 500)}`);
    event.preventDefault();
  };
  contents.on('will-navigate', refuseNavigation('navigation'));
  // will-navigate covers the main frame; this catches sub-frames (there should be none: frame-src 'none').
  contents.on('will-frame-navigate', (event: PreventableLike & { url: string; isMainFrame: boolean }) => {
    if (!event.isMainFrame) refuseNavigation('frame navigation')(event);
  });
  contents.on('will-redirect', refuseNavigation('redirect'));
  contents.on('will-attach-webview', (event: PreventableLike) => {
    log.warn('webview: blocked an attempt to attach a <webview>');
    event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    log.warn(`window.open: blocked ${String(url).slice(0, 500)}`);
    return { action: 'deny' };
  });
}
