// Electron's transport for the API: one ipcMain.handle per method. Each handler checks that the sender is the
// app's own window, then hands the structured-cloned arguments to the shared dispatch (validation, the engine call
// and error mapping live there, the same for the web host) and answers its Envelope.
import { API_METHODS } from '../shared/api.ts';
import { dispatch } from '../shared/protocol/dispatch.ts';
import { channelFor, type Envelope } from '../shared/protocol/routes.ts';
import type { ServedApi } from '../shared/protocol/service.ts';
import type { Logger } from './log.ts';

/** What a handler sees of Electron's IpcMainInvokeEvent. */
export interface InvokeEventLike {
  senderFrame?: { url: string } | null;
}

/** The part of Electron's ipcMain this module uses. */
export interface IpcLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface ApiHandlerOptions {
  chooseFolder(): Promise<string | null>;
  /** True when the frame that sent the request is the app's own UI. */
  isTrustedSender(event: InvokeEventLike): boolean;
  log: Logger;
}

/** Registers one handler per API method; returns a function that removes them all. */
export function registerApiHandlers(ipc: IpcLike, service: ServedApi, options: ApiHandlerOptions): () => void {
  const { log } = options;
  const context = {
    chooseFolder: options.chooseFolder,
    log: { warn: (line: string) => log.warn(`ipc ${line}`), error: (line: string) => log.error(`ipc ${line}`) },
  };
  for (const method of API_METHODS) {
    ipc.handle(channelFor(method), async (event, ...given): Promise<Envelope> => {
      if (!options.isTrustedSender(event)) {
        log.warn(`ipc ${method}: refused a request from ${event.senderFrame?.url ?? 'an unknown frame'}`);
        return { ok: false, error: { code: 'bad-request', message: `${method}: the request did not come from the QuARI window` } };
      }
      return dispatch(service, method, given, context);
    });
  }
  return () => {
    for (const method of API_METHODS) ipc.removeHandler(channelFor(method));
  };
}
