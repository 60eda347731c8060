// One ipcMain.handle per QuariApi method. Each handler checks the sender, validates the arguments, calls the
// engine and answers with an IpcResult envelope: errors cross as {code, message}, never as thrown stacks.
import { API_METHODS, isApiErrorCode, type ApiError, type ApiMethod, type QuariApi } from '../shared/api.ts';
import { channelFor, type IpcResult } from './channels.ts';
import type { Logger } from './log.ts';
import { ValidationError, validateArgs } from './validate.ts';

/** What a handler sees of Electron's IpcMainInvokeEvent. */
export interface InvokeEventLike {
  senderFrame?: { url: string } | null;
}

/** The part of Electron's ipcMain this module uses. */
export interface IpcLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** Every QuariApi method the engine serves itself (the folder picker belongs to the host). */
export type ApiService = Omit<QuariApi, 'onEvent' | 'chooseFolder'>;

export interface ApiHandlerOptions {
  chooseFolder(): Promise<string | null>;
  /** True when the frame that sent the request is the app's own UI. */
  isTrustedSender(event: InvokeEventLike): boolean;
  log: Logger;
}

const MAX_MESSAGE = 2000;

/** Maps anything thrown by validation or the engine to an ApiError; logs the stack, which stays in this process. */
export function toApiError(err: unknown, method: string, log: Logger): ApiError {
  if (err instanceof ValidationError) {
    log.warn(`ipc ${method}: rejected: ${err.message}`);
    return { code: 'bad-request', message: err.message };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const raw = (e as { code?: unknown }).code;
  let code: ApiError['code'] = 'internal';
  if (isApiErrorCode(raw)) code = raw;
  else if (raw === 'ENOENT') code = 'not-found';
  log.error(`ipc ${method}: ${code}: ${e.stack ?? e.message}`);
  const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}…` : e.message;
  return { code, message: message || `${method} failed` };
}

/** Registers one handler per API method; returns a function that removes them all. */
export function registerApiHandlers(ipc: IpcLike, service: ApiService, options: ApiHandlerOptions): () => void {
  const { log } = options;
  const call = (method: ApiMethod, args: unknown[]): Promise<unknown> => {
    if (method === 'chooseFolder') return options.chooseFolder();
    const fn = service[method] as (...a: unknown[]) => Promise<unknown>;
    return fn.apply(service, args);
  };
  for (const method of API_METHODS) {
    ipc.handle(channelFor(method), async (event, ...given): Promise<IpcResult> => {
      try {
        if (!options.isTrustedSender(event)) {
          log.warn(`ipc ${method}: refused a request from ${event.senderFrame?.url ?? 'an unknown frame'}`);
          return { ok: false, error: { code: 'bad-request', message: `${method}: the request did not come from the QuARI window` } };
        }
        const args = validateArgs(method, given);
        return { ok: true, value: await call(method, args) };
      } catch (err) {
        return { ok: false, error: toApiError(err, method, log) };
      }
    });
  }
  return () => {
    for (const method of API_METHODS) ipc.removeHandler(channelFor(method));
  };
}
