// The renderer's one way to the backend: Electron's preload injects window.quari; a plain browser talking to
// the loopback host gets the HTTP client instead.
import type { QuariApi } from '../../../electron/shared/api.ts';
import { createHttpClient } from './httpClient.ts';

export function installApi(): QuariApi {
  if (!window.quari) window.quari = createHttpClient();
  return window.quari;
}

export function api(): QuariApi {
  return window.quari;
}
