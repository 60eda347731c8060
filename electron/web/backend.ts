// What the web host needs from the main-process service (electron/engine/app/AppService.ts): every API method
// except the two that belong to a host (onEvent, chooseFolder), its event stream, and media resolution.
import type { EventEmitter } from 'node:events';
import type { MediaKind, QuariApi } from '../shared/api.ts';

export type { MediaKind };
export const MEDIA_KINDS: readonly MediaKind[] = ['thumb', 'image', 'query'];

export type WebBackend = Omit<QuariApi, 'onEvent' | 'chooseFolder'> & {
  /** Emits 'event' with a QuariEvent. */
  events: EventEmitter;
  /** The file behind a catalog image, its thumbnail or a query image; null for an unknown id. */
  mediaPath(kind: MediaKind, id: string): string | null;
  /** Folders media may be served from (catalog data folder, evidence roots); when present, files outside are refused. */
  mediaRoots?(): readonly string[];
  close(): void | Promise<void>;
};
