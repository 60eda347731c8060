// The renderer's one way to the backend: Electron's preload injects window.quari; a plain browser talking to
// the loopback host gets the HTTP client instead.
import { mediaUrl, type MediaKind, type QuariApi } from '../../../electron/shared/api.ts';
import { createHttpClient } from './httpClient.ts';
import { MEDIA_PREFIX } from '../../../electron/shared/protocol/routes.ts';

let overHttp = false;

export function installApi(): QuariApi {
  if (!window.quari) {
    window.quari = createHttpClient();
    overHttp = true;
  }
  return window.quari;
}

export function api(): QuariApi {
  return window.quari;
}

/**
 * URL of a media item the API did not hand over itself (a query image re-opened from history): Electron's media
 * scheme, or the web host's authenticated route. Both resolve ids, never paths.
 */
export function mediaSrc(kind: MediaKind, id: string | number): string {
  return overHttp ? `${MEDIA_PREFIX}${kind}/${encodeURIComponent(String(id))}` : mediaUrl(kind, id);
}
