// The renderer's one way to the backend: Electron's preload injects window.quari; a plain browser talking to
// the loopback host gets the HTTP client instead, authenticated by the session the landing URL's fragment carried.
import { mediaUrl, type MediaKind, type QuariApi } from '../../../electron/shared/api.ts';
import { webMediaUrl } from '../../../electron/shared/protocol/routes.ts';
import { createHttpClient } from './httpClient.ts';
import { takeWebSession } from './session.ts';

let mediaKey: string | null = null;

export function installApi(): QuariApi {
  if (!window.quari) {
    const session = takeWebSession();
    // Without a session every call answers 401 and the UI says so ("reopen the URL the host printed").
    window.quari = createHttpClient(session?.token ?? '');
    mediaKey = session?.mediaKey ?? '';
  }
  return window.quari;
}

export function api(): QuariApi {
  return window.quari;
}

/**
 * URL of a media item the API did not hand over itself (a query image re-opened from history): Electron's media
 * scheme, or the web host's route authorised by the media key. Both resolve ids, never paths.
 */
export function mediaSrc(kind: MediaKind, id: string | number): string {
  if (mediaKey === null) return mediaUrl(kind, id);
  return webMediaUrl(kind, id, mediaKey);
}
