// QuariApi on top of two primitives (invoke a channel, subscribe to events), kept free of Electron so the
// unwrapping is tested in plain Node. The preload passes ipcRenderer-backed primitives.
import { isApiErrorCode, QuariApiError, type ApiError, type ApiMethod, type QuariApi, type QuariEvent } from '../shared/api.ts';
import type { Envelope } from '../shared/protocol/routes.ts';

/**
 * Failed calls throw QuariApiError. contextBridge re-creates errors in the page's world with their message only,
 * so the page may see a plain Error with this message and no code.
 */
export { QuariApiError };

export interface BridgePrimitives {
  invoke(channel: string, args: unknown[]): Promise<Envelope>;
  subscribe(listener: (event: QuariEvent) => void): () => void;
  methods: readonly ApiMethod[];
  channelFor(method: ApiMethod): string;
}

/** The value of an envelope, or a QuariApiError for a failed one or anything that is not an envelope. */
export function unwrapResult(method: string, result: unknown): unknown {
  if (result === null || typeof result !== 'object' || typeof (result as { ok?: unknown }).ok !== 'boolean') {
    throw new QuariApiError('internal', `${method}: the main process sent a malformed reply`);
  }
  const envelope = result as Envelope;
  if (envelope.ok) return envelope.value;
  const { code, message } = envelope.error ?? {};
  throw new QuariApiError(
    isApiErrorCode(code) ? code : 'internal',
    typeof message === 'string' && message ? message : `${method} failed`,
  );
}

export function buildBridgeApi(p: BridgePrimitives): QuariApi {
  const api: Record<string, unknown> = {};
  for (const method of p.methods) {
    const channel = p.channelFor(method);
    api[method] = async (...args: unknown[]) => {
      let result: Envelope;
      try {
        result = await p.invoke(channel, args);
      } catch (err) {
        // invoke itself fails when no handler is registered (the engine did not start) or an argument cannot be cloned.
        const message = (err as Error).message;
        throw new QuariApiError(/no handler registered/i.test(message) ? 'unavailable' : 'bad-request', `${method}: ${message}`);
      }
      return unwrapResult(method, result);
    };
  }
  api.onEvent = (listener: (event: QuariEvent) => void) => {
    if (typeof listener !== 'function') throw new QuariApiError('bad-request', 'onEvent: expected a listener function');
    return p.subscribe((event) => listener(event));
  };
  return Object.freeze(api) as unknown as QuariApi;
}
