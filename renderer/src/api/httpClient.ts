// QuariApi over the loopback web host (electron/web/): one POST /api/<method> per call, events as a
// Server-Sent Events stream read with fetch (EventSource cannot send headers). Every request carries the session
// token in the X-Quari-Token header; the browser holds no cookie.
import {
  API_METHODS,
  isApiErrorCode,
  QuariApiError,
  type ApiError,
  type ApiMethod,
  type QuariApi,
  type QuariEvent,
} from '../../../electron/shared/api.ts';
import { API_PREFIX, EVENTS_PATH, TOKEN_HEADER } from '../../../electron/shared/protocol/routes.ts';
import { decodeWire, encodeWire } from '../../../electron/shared/protocol/wire.ts';

export { QuariApiError };

async function call(base: string, token: string, method: ApiMethod, args: unknown[]): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${base}${API_PREFIX}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [TOKEN_HEADER]: token },
      credentials: 'omit',
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

/** Delay before the event stream reconnects after the host went away or the connection dropped. */
const RECONNECT_MS = 2000;

/** Reads `data:` lines of an SSE stream until `signal` aborts; reconnects after a drop. */
async function streamEvents(base: string, token: string, signal: AbortSignal, deliver: (event: QuariEvent) => void): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch(`${base}${EVENTS_PATH}`, { headers: { [TOKEN_HEADER]: token }, credentials: 'omit', signal });
      if (response.ok && response.body) {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += value;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trimStart())
              .join('\n');
            if (!data) continue;
            try {
              deliver(JSON.parse(data) as QuariEvent);
            } catch {
              // A malformed event is dropped; the stream goes on.
            }
          }
        }
      }
    } catch {
      // Aborted, or the host went away: retry below unless aborted.
    }
    if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

export function createHttpClient(token: string, base = ''): QuariApi {
  const listeners = new Set<(event: QuariEvent) => void>();
  let stream: AbortController | null = null;

  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    api[method] = (...args: unknown[]) => call(base, token, method, args);
  }
  api.onEvent = (listener: (event: QuariEvent) => void) => {
    listeners.add(listener);
    if (!stream) {
      stream = new AbortController();
      void streamEvents(base, token, stream.signal, (event) => {
        for (const l of [...listeners]) l(event);
      });
    }
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && stream) {
        stream.abort();
        stream = null;
      }
    };
  };
  return api as unknown as QuariApi;
}
