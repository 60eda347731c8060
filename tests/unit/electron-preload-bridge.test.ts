// The preload's QuariApi: every method invokes its channel with the caller's arguments and unwraps the envelope;
// failures become QuariApiErrors carrying code and message; onEvent subscribes and unsubscribes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_METHODS, type QuariEvent } from '../../electron/shared/api.ts';
import { channelFor, type Envelope } from '../../electron/shared/protocol/routes.ts';
import { QuariApiError, buildBridgeApi, unwrapResult } from '../../electron/preload/bridge.ts';

function fakePrimitives(reply: (channel: string, args: unknown[]) => Envelope | Promise<Envelope>) {
  const invoked: { channel: string; args: unknown[] }[] = [];
  const listeners = new Set<(event: QuariEvent) => void>();
  return {
    invoked,
    listeners,
    primitives: {
      invoke: async (channel: string, args: unknown[]) => {
        invoked.push({ channel, args });
        return reply(channel, args);
      },
      subscribe: (listener: (event: QuariEvent) => void) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
      methods: API_METHODS,
      channelFor,
    },
  };
}

test('exposes exactly the QuariApi methods plus onEvent, frozen', () => {
  const api = buildBridgeApi(fakePrimitives(() => ({ ok: true, value: null })).primitives);
  assert.deepEqual(Object.keys(api).sort(), [...API_METHODS, 'onEvent'].sort());
  assert.ok(Object.isFrozen(api));
});

test('each method invokes quari:<method> with its arguments and resolves with the value', async () => {
  const fake = fakePrimitives((channel, args) => ({ ok: true, value: { channel, args } }));
  const api = buildBridgeApi(fake.primitives);
  const bytes = new Uint8Array([1, 2, 3]);
  assert.deepEqual(await api.getCase(7), { channel: 'quari:getCase', args: [7] });
  assert.deepEqual(await api.addQueryImage({ name: 'q.jpg', bytes }), { channel: 'quari:addQueryImage', args: [{ name: 'q.jpg', bytes }] });
  assert.deepEqual(await api.getSettings(), { channel: 'quari:getSettings', args: [] });
  assert.deepEqual(
    fake.invoked.map((c) => c.channel),
    ['quari:getCase', 'quari:addQueryImage', 'quari:getSettings'],
  );
});

test('an error envelope becomes a thrown QuariApiError with its code and message', async () => {
  const api = buildBridgeApi(fakePrimitives(() => ({ ok: false, error: { code: 'not-found', message: 'case 7 does not exist' } })).primitives);
  await assert.rejects(api.getCase(7), (err: unknown) => {
    assert.ok(err instanceof QuariApiError);
    assert.ok(err instanceof Error);
    assert.equal(err.code, 'not-found');
    assert.equal(err.message, 'case 7 does not exist');
    return true;
  });
});

test('malformed replies, unknown codes and invoke failures still reject with a typed error', async () => {
  assert.throws(() => unwrapResult('getCase', undefined), { code: 'internal', message: 'getCase: the main process sent a malformed reply' });
  assert.throws(() => unwrapResult('getCase', { value: 1 }), { code: 'internal' });
  assert.throws(() => unwrapResult('getCase', { ok: false, error: { code: 'teapot', message: 'x' } }), { code: 'internal', message: 'x' });
  assert.throws(() => unwrapResult('getCase', { ok: false }), { code: 'internal', message: 'getCase failed' });
  assert.equal(unwrapResult('cancelIngest', { ok: true, value: undefined }), undefined);

  const noHandler = buildBridgeApi(
    fakePrimitives(() => {
      throw new Error("Error invoking remote method 'quari:getCase': Error: No handler registered for 'quari:getCase'");
    }).primitives,
  );
  await assert.rejects(noHandler.getCase(1), { code: 'unavailable' });
  const uncloneable = buildBridgeApi(
    fakePrimitives(() => {
      throw new Error('An object could not be cloned.');
    }).primitives,
  );
  await assert.rejects(uncloneable.search({ queryImageId: 'q', crops: [], mode: 'baseline' }), {
    code: 'bad-request',
    message: 'search: An object could not be cloned.',
  });
});

test('onEvent delivers events until unsubscribed', () => {
  const fake = fakePrimitives(() => ({ ok: true, value: null }));
  const api = buildBridgeApi(fake.primitives);
  const seen: QuariEvent[] = [];
  const off = api.onEvent((e) => seen.push(e));
  const event: QuariEvent = {
    type: 'ingest-progress',
    progress: { runId: 'r1', root: '/e', state: 'running', total: 10, done: 1, added: 1, skipped: 0, failed: 0, filesPerSecond: 2, etaSeconds: 4 },
  };
  for (const l of fake.listeners) l(event);
  off();
  for (const l of fake.listeners) l(event);
  assert.deepEqual(seen, [event]);
  assert.equal(fake.listeners.size, 0);
  assert.throws(() => api.onEvent('nope' as never), { code: 'bad-request' });
});
