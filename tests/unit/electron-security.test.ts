// The main process's network guard and webContents hardening, driven at their Electron boundary: a recording
// session/webContents stands in for Electron's, and the listeners the guards registered are called directly.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Logger } from '../../electron/main/log.ts';
import { CONTENT_SECURITY_POLICY } from '../../electron/shared/protocol/routes.ts';
import {
  hardenWebContents,
  installNetworkGuards,
  isAllowedRequestUrl,
  isAppUrl,
  secureWebPreferences,
  type HeadersDetailsLike,
  type RequestDetailsLike,
  type SessionLike,
  type WebContentsLike,
} from '../../electron/main/security.ts';

function recordingLog() {
  const entries: { level: string; message: string }[] = [];
  const log: Logger = {
    info: (message) => entries.push({ level: 'info', message }),
    warn: (message) => entries.push({ level: 'warn', message }),
    error: (message) => entries.push({ level: 'error', message }),
  };
  return { log, entries };
}

type BeforeRequest = (details: RequestDetailsLike, callback: (response: { cancel?: boolean }) => void) => void;
type HeadersReceived = (details: HeadersDetailsLike, callback: (response: { responseHeaders?: Record<string, string[]> }) => void) => void;

function fakeSession() {
  const s = {
    beforeRequest: null as BeforeRequest | null,
    headersReceived: null as HeadersReceived | null,
    permissionRequest: null as Parameters<SessionLike['setPermissionRequestHandler']>[0] | null,
    permissionCheck: null as Parameters<SessionLike['setPermissionCheckHandler']>[0] | null,
    spellChecker: true,
    listeners: new Map<string, (...args: any[]) => void>(),
  };
  const session: SessionLike = {
    webRequest: {
      onBeforeRequest: (listener) => void (s.beforeRequest = listener),
      onHeadersReceived: (listener) => void (s.headersReceived = listener),
    },
    setPermissionRequestHandler: (handler) => void (s.permissionRequest = handler),
    setPermissionCheckHandler: (handler) => void (s.permissionCheck = handler),
    setSpellCheckerEnabled: (enabled) => void (s.spellChecker = enabled),
    on: (event, listener) => s.listeners.set(event, listener),
  };
  return { s, session };
}

function request(listener: BeforeRequest | null, url: string, resourceType = 'xhr'): { cancel?: boolean } {
  assert.ok(listener, 'installNetworkGuards registered no onBeforeRequest listener');
  let answer: { cancel?: boolean } | undefined;
  listener({ url, resourceType, webContentsId: 1 }, (response) => (answer = response));
  assert.ok(answer, 'the listener never called back (the request would hang)');
  return answer;
}

describe('installNetworkGuards', () => {
  test('cancels an outbound https request and logs it', () => {
    const { s, session } = fakeSession();
    const { log, entries } = recordingLog();
    installNetworkGuards(session, log);
    const answer = request(s.beforeRequest, 'https://example.com/collect?id=1', 'xhr');
    assert.deepEqual(answer, { cancel: true });
    assert.equal(entries.length, 1);
    assert.equal(entries[0].level, 'warn');
    assert.match(entries[0].message, /blocked xhr to https:\/\/example\.com\/collect\?id=1/);
  });

  test('cancels every other network and local-file scheme', () => {
    const { s, session } = fakeSession();
    const { log, entries } = recordingLog();
    installNetworkGuards(session, log);
    const blocked = [
      'http://127.0.0.1:8080/',
      'http://localhost/api',
      'ws://10.0.0.1/socket',
      'wss://example.org/',
      'ftp://example.org/file',
      'file:///etc/passwd',
      'chrome-extension://abc/x.js',
      'quari-app-evil://ui/index.html',
      'not a url',
    ];
    for (const url of blocked) assert.deepEqual(request(s.beforeRequest, url), { cancel: true }, url);
    assert.equal(entries.length, blocked.length);
    assert.ok(entries.every((e) => e.level === 'warn' && e.message.startsWith('network: blocked')));
  });

  test("lets the app's own schemes, in-page data/blob URLs and devtools through, without logging", () => {
    const { s, session } = fakeSession();
    const { log, entries } = recordingLog();
    installNetworkGuards(session, log);
    for (const url of [
      'quari-app://ui/index.html',
      'quari-app://ui/assets/index-abc.js',
      'quari-media://thumb/12',
      'data:image/png;base64,AAAA',
      'blob:quari-app://ui/0b6e3f1a',
      'devtools://devtools/bundled/devtools_app.html',
    ]) {
      assert.deepEqual(request(s.beforeRequest, url), {}, url);
    }
    assert.equal(entries.length, 0);
  });

  test('puts the CSP on every response, replacing any the response carried', () => {
    const { s, session } = fakeSession();
    installNetworkGuards(session, recordingLog().log);
    assert.ok(s.headersReceived);
    let headers: Record<string, string[]> | undefined;
    s.headersReceived(
      { url: 'quari-app://ui/index.html', responseHeaders: { 'content-security-policy': ["script-src 'unsafe-eval' *"], 'Content-Type': ['text/html'] } },
      (r) => (headers = r.responseHeaders),
    );
    assert.deepEqual(headers, { 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] });
  });

  test('denies permission requests (clipboard writes only from the app), disables the spellchecker, blocks downloads', () => {
    const { s, session } = fakeSession();
    const { log, entries } = recordingLog();
    installNetworkGuards(session, log);
    const ask = (permission: string, requestingUrl: string) => {
      let granted: boolean | undefined;
      s.permissionRequest!(null, permission, (g) => (granted = g), { requestingUrl });
      return granted;
    };
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'fullscreen', 'hid', 'serial', 'usb']) {
      assert.equal(ask(permission, 'quari-app://ui/index.html'), false, permission);
    }
    assert.equal(ask('clipboard-sanitized-write', 'quari-app://ui/index.html'), true);
    assert.equal(ask('clipboard-sanitized-write', 'https://example.com/'), false);
    assert.equal(s.permissionCheck!(null, 'media', 'quari-app://ui'), false);
    assert.equal(s.permissionCheck!(null, 'clipboard-sanitized-write', 'quari-app://ui'), true);
    assert.equal(s.permissionCheck!(null, 'clipboard-sanitized-write', 'https://example.com'), false);
    assert.ok(entries.some((e) => /permission: denied media/.test(e.message)));
    assert.equal(s.spellChecker, false);

    let prevented = false;
    s.listeners.get('will-download')!({ preventDefault: () => (prevented = true) }, { getURL: () => 'blob:quari-app://ui/1' });
    assert.equal(prevented, true);
    assert.ok(entries.some((e) => /download: blocked/.test(e.message)));
  });
});

describe('hardenWebContents', () => {
  function fakeContents() {
    const listeners = new Map<string, (...args: any[]) => void>();
    let openHandler: ((details: { url: string }) => { action: 'deny' }) | null = null;
    const contents: WebContentsLike = {
      on: (event, listener) => listeners.set(event, listener),
      setWindowOpenHandler: (handler) => void (openHandler = handler),
    };
    return { contents, listeners, open: (url: string) => openHandler!({ url }) };
  }
  const preventable = () => {
    const e = { prevented: false, preventDefault: () => void (e.prevented = true) };
    return e;
  };

  test('blocks navigation and redirects away from the app, allows in-app navigation', () => {
    const { contents, listeners } = fakeContents();
    const { log, entries } = recordingLog();
    hardenWebContents(contents, log);
    for (const event of ['will-navigate', 'will-redirect']) {
      const out = preventable();
      listeners.get(event)!(out, 'https://example.com/');
      assert.equal(out.prevented, true, event);
      const file = preventable();
      listeners.get(event)!(file, 'file:///etc/passwd');
      assert.equal(file.prevented, true, event);
      const inApp = preventable();
      listeners.get(event)!(inApp, 'quari-app://ui/index.html');
      assert.equal(inApp.prevented, false, event);
    }
    // Electron ≥ 25 puts the target on the event itself.
    const onEvent = Object.assign(preventable(), { url: 'https://example.com/via-event' });
    listeners.get('will-navigate')!(onEvent, 'quari-app://ui/index.html');
    assert.equal(onEvent.prevented, true, 'the event url wins over the deprecated argument');
    const frame = Object.assign(preventable(), { url: 'https://example.com/frame', isMainFrame: false });
    listeners.get('will-frame-navigate')!(frame);
    assert.equal(frame.prevented, true);
    const mainFrame = Object.assign(preventable(), { url: 'https://example.com/main', isMainFrame: true });
    listeners.get('will-frame-navigate')!(mainFrame);
    assert.equal(mainFrame.prevented, false, 'main-frame navigations are will-navigate\'s, not logged twice');
    assert.equal(entries.filter((e) => e.message.startsWith('navigation: blocked')).length, 6);
  });

  test('denies window.open and <webview>', () => {
    const { contents, listeners, open } = fakeContents();
    const { log, entries } = recordingLog();
    hardenWebContents(contents, log);
    assert.deepEqual(open('https://example.com/'), { action: 'deny' });
    assert.deepEqual(open('quari-app://ui/index.html'), { action: 'deny' });
    const webview = preventable();
    listeners.get('will-attach-webview')!(webview, {}, {});
    assert.equal(webview.prevented, true);
    assert.ok(entries.some((e) => /window\.open: blocked https:\/\/example\.com/.test(e.message)));
    assert.ok(entries.some((e) => /webview: blocked/.test(e.message)));
  });
});

test('secure web preferences follow the security checklist', () => {
  const prefs = secureWebPreferences('/app/dist/electron/preload.cjs');
  assert.equal(prefs.preload, '/app/dist/electron/preload.cjs');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.nodeIntegrationInSubFrames, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.webviewTag, false);
  assert.equal(prefs.spellcheck, false);
});

test('the CSP allows script only from the app and never from anywhere else', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'"]);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  for (const [name, sources] of directives) {
    assert.ok(!sources.some((s) => /^https?:|^\*$|unsafe-eval/.test(s)), `${name} allows ${sources.join(' ')}`);
  }
});

test('isAppUrl and isAllowedRequestUrl compare parsed origins, not prefixes', () => {
  assert.equal(isAppUrl('quari-app://ui/index.html'), true);
  assert.equal(isAppUrl('quari-app://ui.evil/index.html'), false);
  assert.equal(isAppUrl('quari-app://other/index.html'), false);
  assert.equal(isAppUrl('https://ui/index.html'), false);
  assert.equal(isAppUrl(undefined), false);
  assert.equal(isAllowedRequestUrl('QUARI-MEDIA://thumb/1'), true); // schemes are case-insensitive
  assert.equal(isAllowedRequestUrl('javascript:alert(1)'), false);
});
