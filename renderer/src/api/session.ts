// The web host's session as the page holds it: the token and media key arrive in the landing URL's fragment
// (never sent to a server), are kept in sessionStorage (scoped to this origin, port included, and to this tab)
// and the fragment is dropped from the address bar. Nothing is ever stored in a cookie: cookies ignore ports,
// so another server on 127.0.0.1 would receive it.
import { MEDIA_KEY_FRAGMENT, TOKEN_FRAGMENT } from '../../../electron/shared/protocol/routes.ts';

export interface WebSession {
  token: string;
  mediaKey: string;
}

const STORAGE_KEY = 'quari-session';

/** Reads the session from the fragment (then removes it) or from this tab's storage; null when there is none. */
export function takeWebSession(): WebSession | null {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = fragment.get(TOKEN_FRAGMENT);
  const mediaKey = fragment.get(MEDIA_KEY_FRAGMENT);
  if (token && mediaKey) {
    const session = { token, mediaKey };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    history.replaceState(history.state, '', `${location.pathname}${location.search}`);
    return session;
  }
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<WebSession> | null;
    if (stored && typeof stored.token === 'string' && typeof stored.mediaKey === 'string') return { token: stored.token, mediaKey: stored.mediaKey };
  } catch {
    // A corrupt entry is no session.
  }
  return null;
}
