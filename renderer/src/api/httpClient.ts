// QuariApi over the loopback web host (electron/web/): one POST /api/<method> per call, events over
// Server-Sent Events. Authentication is the HttpOnly session cookie the host set when the tokened URL was opened.
import {
  API_METHODS,
  isApiErrorCode,
  QuariApiError,
  type ApiError,
  type ApiMethod,
  type QuariApi,
  type QuariEvent,
} from '../../../electron/shared/api.ts';
import { API_PREFIX, EVENTS_PATH } from '../../../electron/shared/protocol/routes.ts';
import { decodeWire, encodeWire } from '../../../electron/shared/protocol/wire.ts';

export { QuariApiError };

async function call(base: string, method: ApiMethod, args: unknown[]): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${base}${API_PREFIX}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ args: encodeWire(args) }),
    });
  } catch {
    throw new QuariApiError('unavailable', `The QuARI host did not answer (${method}); is it still running?`);
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Fall through to the status-based error below.
  }
  if (!response.ok) {
    const err = body as Partial<ApiError> | undefined;
    if (err && typeof err.message === 'string' && isApiErrorCode(err.code)) {
      throw new QuariApiError(err.code, err.message);
    }
    const code = response.status === 401 || response.status === 403 ? 'unavailable' : 'internal';
    const hint = code === 'unavailable' ? ' — reopen the URL the host printed (it carries the session token)' : '';
    throw new QuariApiError(code, `${method} failed with HTTP ${response.status}${hint}`);
  }
  if (body === undefined || typeof body !== 'object' || body === null) {
    throw new QuariApiError('internal', `${method} returned a malformed response`);
  }
  return decodeWire((body as { result?: unknown }).result);
}

export function createHttpClient(base = ''): QuariApi {
  const listeners = new Set<(event: QuariEvent) => void>();
  let source: EventSource | null = null;

  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    api[method] = (...args: unknown[]) => call(base, method, args);
  }
  api.onEvent = (listener: (event: QuariEvent) => void) => {
    listeners.add(listener);
    if (!source) {
      source = new EventSource(`${base}${EVENTS_PATH}`, { withCredentials: true });
      source.onmessage = (message) => {
        let event: QuariEvent;
        try {
          event = JSON.parse(message.data) as QuariEvent;
        } catch {
          return;
        }
        for (const l of [...listeners]) l(event);
      };
    }
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && source) {
        source.close();
        source = null;
      }
    };
  };
  return api as unknown as QuariApi;
}
