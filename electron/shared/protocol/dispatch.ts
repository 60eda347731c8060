// The one call path from a host to the engine. Electron's IPC handler (electron/main/ipc.ts) and the loopback
// web host (electron/web/host.ts) each decode their transport, then call dispatch(service, method, rawArgs):
// the method must be in the table, the arguments pass that method's validator (a fresh copy holding only known
// fields), the engine runs, and the answer is an Envelope with any error mapped by one toApiError. So no method
// is reachable unvalidated on either host, and both answer a given mistake with the same code and message.
import { API_METHODS, QuariApiError, type ApiMethod } from '../api.ts';
import { toApiError, ValidationError } from './errors.ts';
import type { Envelope } from './routes.ts';
import type { ServedApi } from './service.ts';
import { validateArgs } from './validate.ts';

export interface DispatchContext {
  /** The host's folder picker: Electron's dialog; the web host has none and answers null (the UI asks for a path). */
  chooseFolder(): Promise<string | null>;
  /** Refusals are logged as warnings, unexpected failures (with their stack) as errors; neither crosses the wire. */
  log: { warn(line: string): void; error(line: string): void };
}

const METHODS: ReadonlySet<string> = new Set(API_METHODS);

/** True for a name in the method table (an own entry: `__proto__` or `toString` are not methods). */
export const isApiMethod = (method: unknown): method is ApiMethod => typeof method === 'string' && METHODS.has(method);

/** Shortens a caller-supplied name for a message or log line. */
const quoted = (text: string) => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

export async function dispatch(service: ServedApi, method: string, rawArgs: unknown, context: DispatchContext): Promise<Envelope> {
  const name = isApiMethod(method) ? method : quoted(String(method));
  try {
    if (!isApiMethod(method)) throw new QuariApiError('not-found', `no API method named ${name}`);
    if (!Array.isArray(rawArgs)) throw new ValidationError(`${method}: the arguments must be an array`);
    const args = validateArgs(method, rawArgs);
    if (method === 'chooseFolder') return { ok: true, value: await context.chooseFolder() };
    const fn = service[method] as (...a: unknown[]) => Promise<unknown>;
    return { ok: true, value: await fn.apply(service, args) };
  } catch (err) {
    const { internal, ...error } = toApiError(err, name);
    if (internal) context.log.error(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    else context.log.warn(`${name}: refused (${error.code}): ${error.message}`);
    return { ok: false, error };
  }
}
