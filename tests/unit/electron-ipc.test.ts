// registerApiHandlers driven through a recording IpcLike: one channel per method, sender checks, validation before
// the engine is reached, and every failure answered as an {ok:false, error:{code, message}} envelope.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { API_METHODS } from '../../electron/shared/api.ts';
import { channelFor, type Envelope } from '../../electron/shared/protocol/routes.ts';
import { registerApiHandlers, type InvokeEventLike, type IpcLike } from '../../electron/main/ipc.ts';
import type { ServedApi as ApiService } from '../../electron/shared/protocol/service.ts';
import type { Logger } from '../../electron/main/log.ts';
import { isAppUrl } from '../../electron/main/security.ts';
import { tempCatalog } from './db-fixtures.ts';

type Handler = (event: InvokeEventLike, ...args: unknown[]) => unknown;

function recordingIpc() {
  const handlers = new Map<string, Handler>();
  const ipc: IpcLike = {
    handle: (channel, listener) => {
      assert.ok(!handlers.has(channel), `${channel} registered twice`);
      handlers.set(channel, listener);
    },
    removeHandler: (channel) => void handlers.delete(channel),
  };
  const appFrame: InvokeEventLike = { senderFrame: { url: 'quari-app://ui/index.html' } };
  const invoke = async (method: string, args: unknown[], event: InvokeEventLike = appFrame) => {
    const handler = handlers.get(`quari:${method}`);
    assert.ok(handler, `no handler for ${method}`);
    return (await handler(event, ...args)) as Envelope;
  };
  return { ipc, handlers, invoke };
}

function recordingLog() {
  const entries: string[] = [];
  const log: Logger = { info: (m) => entries.push(`info ${m}`), warn: (m) => entries.push(`warn ${m}`), error: (m) => entries.push(`error ${m}`) };
  return { log, entries };
}

/** A service whose every method records its call; individual methods are overridden per test. */
function recordingService(overrides: Partial<Record<keyof ApiService, (...args: any[]) => Promise<unknown>>> = {}) {
  const calls: { method: string; args: unknown[] }[] = [];
  const service: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    if (method === 'chooseFolder') continue;
    service[method] = async (...args: unknown[]) => {
      calls.push({ method, args });
      const override = overrides[method as keyof ApiService];
      return override ? override(...args) : { method };
    };
  }
  return { service: service as unknown as ApiService, calls };
}

const options = (log: Logger, chooseFolder: () => Promise<string | null> = async () => '/mnt/evidence') => ({
  log,
  chooseFolder,
  isTrustedSender: (event: InvokeEventLike) => isAppUrl(event.senderFrame?.url),
});

test('registers exactly one quari:<method> channel per API method, and removes them all', () => {
  const { ipc, handlers } = recordingIpc();
  const unregister = registerApiHandlers(ipc, recordingService().service, options(recordingLog().log));
  assert.deepEqual([...handlers.keys()].sort(), API_METHODS.map(channelFor).sort());
  unregister();
  assert.equal(handlers.size, 0);
});

test('valid calls reach the engine with validated copies and come back as {ok:true, value}', async () => {
  const { ipc, invoke } = recordingIpc();
  const { service, calls } = recordingService({ getCase: async (id: number) => ({ caseId: id, name: 'Case' }) });
  registerApiHandlers(ipc, service, options(recordingLog().log));
  assert.deepEqual(await invoke('getCase', [4]), { ok: true, value: { caseId: 4, name: 'Case' } });
  const request = { queryImageId: 'q1', crops: [{ x: 1, y: 2, w: 3, h: 4 }], mode: 'adaptive' };
  assert.deepEqual(await invoke('search', [request]), { ok: true, value: { method: 'search' } });
  assert.deepEqual(calls, [
    { method: 'getCase', args: [4] },
    { method: 'search', args: [request] },
  ]);
  assert.notEqual(calls[1].args[0], request, 'the engine gets a copy, not the object IPC delivered');
});

test('invalid arguments are answered with bad-request and never reach the engine', async () => {
  const { ipc, invoke } = recordingIpc();
  const { service, calls } = recordingService();
  const { log, entries } = recordingLog();
  registerApiHandlers(ipc, service, options(log));
  const bad: [string, unknown[], RegExp][] = [
    ['getCase', ['1'], /getCase: argument 1 \(caseId\): expected a positive integer id/],
    ['getCase', [], /expected 1 argument, got 0/],
    ['search', [{ queryImageId: 'q', crops: [{ x: 0, y: 0, w: -2, h: 1 }], mode: 'adaptive' }], /crops\[0\]\.w/],
    ['startIngest', ['../../etc'], /absolute folder path/],
    ['addQueryImage', [{ name: 'a.jpg', bytes: 'not bytes' }], /bytes: expected bytes/],
    ['exportCase', [{ caseId: 1, format: 'exe' }], /format: must be one of/],
    ['getSettings', [{}], /expected 0 arguments, got 1/],
  ];
  for (const [method, args, pattern] of bad) {
    const result = await invoke(method, args);
    assert.equal(result.ok, false, method);
    if (!result.ok) {
      assert.equal(result.error.code, 'bad-request', method);
      assert.match(result.error.message, pattern);
    }
  }
  assert.deepEqual(calls, []);
  assert.equal(entries.filter((e) => e.startsWith('warn ipc')).length, bad.length);
});

test('engine errors map to their ApiError code; coded messages travel, internal messages and stacks do not', async (t) => {
  const coded = (code: string, message: string) => Object.assign(new Error(message), { code });
  // The conflict is the real catalog's refusal of a case name taken twice.
  const catalog = tempCatalog();
  t.after(() => catalog.dispose());
  catalog.store.createCase({ name: 'Case 7' });
  const { ipc, invoke } = recordingIpc();
  const { log, entries } = recordingLog();
  const { service } = recordingService({
    getCase: async () => {
      throw coded('not-found', 'case 9 does not exist');
    },
    createCase: async (input: { name: string }) => catalog.store.createCase(input),
    setActivePack: async () => {
      throw coded('unavailable', 'pack "x" is not installed');
    },
    listCases: async () => {
      throw new TypeError("Cannot read properties of undefined (reading 'rows')");
    },
    exportCase: async () => {
      throw Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' });
    },
    listSearches: async () => {
      throw coded('SQLITE_IOERR', 'disk I/O error');
    },
    listFailures: async () => {
      throw coded('SQLITE_BUSY', 'database is locked');
    },
    getSettings: async () => {
      // eslint-disable-next-line no-throw-literal
      throw 'a bare string';
    },
  });
  registerApiHandlers(ipc, service, options(log));
  const expectations: [string, unknown[], string, string][] = [
    ['getCase', [9], 'not-found', 'case 9 does not exist'],
    ['createCase', [{ name: 'Case 7', categories: [] }], 'conflict', "createCase: a case named 'Case 7' already exists"],
    ['setActivePack', ['x'], 'unavailable', 'pack "x" is not installed'],
    ['listCases', [], 'internal', "listCases failed with an internal error (details are in the host's log)"],
    ['exportCase', [{ caseId: 1, format: 'html' }], 'not-found', 'exportCase: a file it needs does not exist'],
    ['listSearches', [], 'internal', "listSearches failed with an internal error (details are in the host's log)"],
    ['listFailures', [], 'unavailable', 'listFailures: the catalog is busy with another writer (a hash-set import committing, or another process); try again'],
    ['getSettings', [], 'internal', "getSettings failed with an internal error (details are in the host's log)"],
  ];
  for (const [method, args, code, message] of expectations) {
    const result = await invoke(method, args);
    assert.deepEqual(result, { ok: false, error: { code, message } }, method);
    assert.deepEqual(Object.keys((result as { error: object }).error).sort(), ['code', 'message']);
  }
  // The stack stays in the main process's log.
  assert.ok(entries.some((e) => e.startsWith('error ipc listCases: TypeError') && /\n\s+at /.test(e)));
});

test('requests from any frame other than the app are refused before validation', async () => {
  const { ipc, invoke } = recordingIpc();
  const { service, calls } = recordingService();
  const { log, entries } = recordingLog();
  registerApiHandlers(ipc, service, options(log));
  for (const senderFrame of [{ url: 'https://example.com/' }, { url: 'file:///tmp/x.html' }, { url: 'quari-app://evil/index.html' }, null]) {
    const result = await invoke('getCatalogInfo', [], { senderFrame });
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'bad-request');
  }
  assert.deepEqual(calls, []);
  assert.equal(entries.filter((e) => /refused a request from/.test(e)).length, 4);
});

describe('chooseFolder', () => {
  test('is answered by the host picker, not the engine', async () => {
    const { ipc, invoke } = recordingIpc();
    const { service, calls } = recordingService();
    registerApiHandlers(ipc, service, options(recordingLog().log, async () => '/media/usb/case7'));
    assert.deepEqual(await invoke('chooseFolder', []), { ok: true, value: '/media/usb/case7' });
    assert.deepEqual(calls, []);
  });

  test('a cancelled picker yields null', async () => {
    const { ipc, invoke } = recordingIpc();
    registerApiHandlers(ipc, recordingService().service, options(recordingLog().log, async () => null));
    assert.deepEqual(await invoke('chooseFolder', []), { ok: true, value: null });
  });
});
