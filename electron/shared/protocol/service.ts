// The one service type both hosts serve: every QuariApi method the engine answers itself (onEvent and
// chooseFolder belong to a host), its event stream and media lookup. electron/engine/app/AppService.ts implements
// it; electron/main (IPC) and electron/web (HTTP) take it. Types only.
import type { MediaKind, QuariApi, QuariEvent } from '../api.ts';

/** Methods dispatch calls on the engine. */
export type ServedApi = Omit<QuariApi, 'onEvent' | 'chooseFolder'>;

/** The subset of Node's EventEmitter a host subscribes with (kept structural: no Node types in shared/). */
export interface ServiceEvents {
  on(event: 'event', listener: (event: QuariEvent) => void): unknown;
  off(event: 'event', listener: (event: QuariEvent) => void): unknown;
}

export type AppService = ServedApi & {
  /** Emits 'event' with a QuariEvent. */
  readonly events: ServiceEvents;
  /** The file behind a catalog image, its thumbnail or a query image; null for an unknown id. */
  mediaPath(kind: MediaKind, id: string): string | null;
  /** Folders media may be served from: the catalog's data folder and every ingested evidence root. */
  mediaRoots(): readonly string[];
  close(): Promise<void>;
};
