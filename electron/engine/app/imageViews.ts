// Read-only views of the catalog's images for the UI: the Duplicates view's stacks, the image panel's facts and
// the catalog browser's pages (under the search filters). Media URLs come from the host.
import { basename } from 'node:path';
import type { CatalogStore } from '../../../db/Interface.ts';
import { QuariApiError, STACK_TIERS, type BrowsedImage, type DuplicateStacks, type ImageDetails, type SearchFilter, type StackTier } from '../../shared/api.ts';
import type { MediaUrlBuilder } from './searchSession.ts';

export class ImageViews {
  constructor(
    private readonly store: CatalogStore,
    private readonly mediaUrl: MediaUrlBuilder,
  ) {}

  listDuplicateStacks(input: { tier: StackTier; offset?: number; limit?: number }): DuplicateStacks {
    const dup = this.store.duplicates;
    const stacks = dup.listStacks(input.tier, { offset: input.offset ?? 0, limit: input.limit ?? 100 }).map((st) => {
      const ids = dup.stackMembers(st.stackId);
      const rows = new Map(this.store.getImages(ids).map((r) => [r.id, r]));
      const tiers = dup.stacksOfImages(ids);
      const best = tiers.get(st.bestImageId) ?? {};
      return {
        stackId: st.stackId,
        tier: st.tier,
        size: st.size,
        members: ids.flatMap((id) => {
          const row = rows.get(id);
          if (!row) return [];
          const mine = tiers.get(id) ?? {};
          // Nested tiers: the first tier in which both sit in one stack is their tightest link.
          const link = STACK_TIERS.find((t) => mine[t] && mine[t]!.stackId === best[t]?.stackId) ?? st.tier;
          return [{ imageId: id, path: row.path, width: row.width ?? 0, height: row.height ?? 0, size: row.size, thumbnailUrl: this.mediaUrl('thumb', id), link }];
        }),
      };
    });
    return { counts: dup.countStacks(), tier: input.tier, stacks };
  }

  getImageDetails(imageId: number): ImageDetails {
    const f = this.store.imageQueries.getImageFacts(imageId);
    if (!f) throw new QuariApiError('not-found', `image ${imageId} is not in the catalog`);
    const stacks = this.store.duplicates.stacksOfImages([imageId]).get(imageId) ?? {};
    return {
      imageId,
      path: f.path,
      fileName: basename(f.path),
      size: f.size,
      format: f.format,
      width: f.width,
      height: f.height,
      hashes: { md5: f.md5, sha1: f.sha1, sha256: f.sha256, phash: f.phash },
      capturedAt: f.capturedAt,
      camera: { make: f.cameraMake, model: f.cameraModel },
      gps: f.gpsLat !== null && f.gpsLon !== null ? { lat: f.gpsLat, lon: f.gpsLon } : null,
      orientation: f.orientation,
      stacks: Object.values(stacks).map((st) => ({ tier: st.tier, stackId: st.stackId, size: st.size })),
      known: this.store.getKnownMatches(imageId),
      thumbnailUrl: this.mediaUrl('thumb', imageId),
      imageUrl: this.mediaUrl('image', imageId),
    };
  }

  browseImages(input: { filter?: SearchFilter; offset?: number; limit?: number }): { total: number; images: BrowsedImage[] } {
    const page = this.store.imageQueries.browse(input.filter ?? {}, { offset: input.offset ?? 0, limit: input.limit ?? 200 });
    const rows = this.store.getImages(page.imageIds);
    const known = this.store.imageQueries.knownMatchesOf(page.imageIds);
    return {
      total: page.total,
      images: rows.map((r) => ({ imageId: r.id, path: r.path, width: r.width ?? 0, height: r.height ?? 0, thumbnailUrl: this.mediaUrl('thumb', r.id), known: known.get(r.id) ?? [] })),
    };
  }
}
