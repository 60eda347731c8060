// Media lookup for both hosts: the file behind a catalog image, its thumbnail or a query photo, by id only, and
// the folders media may be served from (the hosts check the resolved real path against them).
import { join } from 'node:path';
import type { CatalogStore } from '../../../db/Interface.ts';
import type { MediaKind } from '../../shared/api.ts';

export class MediaLookup {
  constructor(
    private readonly store: CatalogStore,
    private readonly dataDir: string,
    private readonly queryPath: (id: string) => string | null,
  ) {}

  path(kind: MediaKind, id: string): string | null {
    if (kind === 'query') return this.queryPath(id);
    if (!/^\d{1,15}$/.test(id)) return null;
    const image = this.store.getImage(Number(id));
    if (!image) return null;
    if (kind === 'image') return image.status === 'ok' ? image.path : null;
    return image.thumbnail ? join(this.dataDir, image.thumbnail) : null;
  }

  /** The catalog's data folder and every ingested evidence root. */
  roots(): readonly string[] {
    const roots = new Set([this.dataDir]);
    for (const run of this.store.listIngestRuns({ limit: 10_000 })) roots.add(run.root);
    return [...roots];
  }
}
