// The service's media URLs name its own (Electron) scheme; a browser reaches media only through this host's
// authenticated /media routes. Rewriting by id, never by parsing the service's URL, keeps the routes the only
// way in: they resolve ids through the catalog, not paths.
import { MEDIA_PREFIX } from '../shared/protocol/routes.ts';
import type { MediaKind } from '../shared/api.ts';

export const mediaUrl = (kind: MediaKind, id: string | number) => `${MEDIA_PREFIX}${kind}/${encodeURIComponent(String(id))}`;

/** Deep copy of an API result with every media URL pointing at this host. */
export function rewriteMediaUrls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteMediaUrls);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) out[k] = rewriteMediaUrls(v);
  // QueryImage: { queryImageId, url }
  if (typeof src.queryImageId === 'string' && typeof src.url === 'string') out.url = mediaUrl('query', src.queryImageId);
  // SearchHit / TaggedItem: { imageId, thumbnailUrl, imageUrl? }
  if (typeof src.imageId === 'number') {
    if (typeof src.thumbnailUrl === 'string') out.thumbnailUrl = mediaUrl('thumb', src.imageId);
    if (typeof src.imageUrl === 'string') out.imageUrl = mediaUrl('image', src.imageId);
  }
  return out;
}
