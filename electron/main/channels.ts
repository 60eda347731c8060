// The IPC protocol between the main process and the preload: one invoke channel per QuariApi method and one
// event channel. Results travel as envelopes because Electron's IPC (and contextBridge) copy only an Error's
// message; the code the UI acts on would otherwise be lost. Pure data: the preload bundle imports this file.
import type { ApiError, ApiMethod } from '../shared/api.ts';

export const CHANNEL_PREFIX = 'quari:';
export const EVENT_CHANNEL = 'quari:event';

export function channelFor(method: ApiMethod): string {
  return `${CHANNEL_PREFIX}${method}`;
}

export type IpcResult<T = unknown> = { ok: true; value: T } | { ok: false; error: ApiError };

