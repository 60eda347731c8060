// The search session: the query photos (content-addressed files under `<catalog>.data/queries/`, their names in
// the query_images table), the search service of the active pack (opened once, reloaded after an ingest), and
// the search history. Media URLs come from the host (Electron's scheme or the web host's routes).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CatalogStore, SearchRow } from '../../../db/Interface.ts';
import { QuariApiError, type MediaKind, type QueryImage, type SearchFeedback, type SearchRecord, type SearchRequest, type SearchResponse } from '../../shared/api.ts';
import { DEFAULT_K, DEFAULT_TOP } from '../../shared/constants.ts';
import { QUERY_IMAGE_MAX_BYTES } from '../../shared/protocol/routes.ts';
import { decodeRgb, readFileBytes, readImageHeader } from '../images/decode.ts';
import { searchWithFeedback, type Feedback } from '../search/feedback.ts';
import { NOT_CHECKED } from '../verify/stage.ts';
import { ivfIndexPath, SearchService, type Hit } from '../search/SearchService.ts';
import type { ActivePack } from './packs.ts';

/** Builds the URL a host serves a media item under. */
export type MediaUrlBuilder = (kind: MediaKind, id: string | number) => string;

const QUERY_ID = /^[0-9a-f]{64}\.[a-z0-9]{2,5}$/;

export class SearchSession {
  private readonly queryDir: string;
  private open: { packId: string; service: Promise<SearchService> } | null = null;
  private indexStale = false;

  constructor(
    private readonly store: CatalogStore,
    private readonly packs: ActivePack,
    private readonly dataDir: string,
    private readonly mediaUrl: MediaUrlBuilder,
  ) {
    this.queryDir = join(dataDir, 'queries');
  }

  async addQueryImage(file: { name: string; bytes: Uint8Array }): Promise<QueryImage> {
    if (file.bytes.length === 0) throw new QuariApiError('bad-request', `${file.name} is empty`);
    if (file.bytes.length > QUERY_IMAGE_MAX_BYTES) throw new QuariApiError('bad-request', `${file.name} is larger than ${QUERY_IMAGE_MAX_BYTES / 2 ** 20} MiB`);
    const bytes = Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
    const header = await readImageHeader(bytes, file.name).catch((err: Error) => {
      throw new QuariApiError('bad-request', err.message);
    });
    // The header alone accepts a truncated JPEG; a full decode (shrunk on load, so cheap) refuses it, as ingest does.
    await decodeRgb(bytes, file.name, [64, 64]).catch((err: Error) => {
      throw new QuariApiError('bad-request', `${err.message}; a damaged photo cannot be a query`);
    });
    const id = `${createHash('sha256').update(bytes).digest('hex')}.${header.format === 'jpeg' ? 'jpg' : header.format}`;
    mkdirSync(this.queryDir, { recursive: true });
    const path = join(this.queryDir, id);
    // Kept next to the catalog, so history can re-run a query later.
    if (!existsSync(path)) writeFileSync(path, bytes);
    this.store.putQueryImage(id, file.name);
    return { queryImageId: id, name: file.name, width: header.width, height: header.height, url: this.mediaUrl('query', id) };
  }

  /** A catalogued image as the query photo ("search from this image"), checked as an uploaded photo would be. */
  async queryFromImage(imageId: number): Promise<QueryImage> {
    const image = this.store.getImage(imageId);
    if (!image || image.status !== 'ok') throw new QuariApiError('not-found', `image ${imageId} is not an ingested image of the catalog`);
    // An evidence file is hostile and may have been swapped since ingest: read as ingest reads (a regular file only,
    // opened non-blocking so a FIFO cannot hold a thread, refused from its size and header before its body).
    const file = await readFileBytes(image.path, { maxBytes: QUERY_IMAGE_MAX_BYTES }).catch((err: Error) => {
      throw new QuariApiError('unavailable', `cannot use image ${imageId} as the query photo: ${err.message}`);
    });
    return this.addQueryImage({ name: basename(image.path), bytes: file.bytes });
  }

  async search(request: SearchRequest): Promise<SearchResponse> {
    const imagePath = this.queryPath(request.queryImageId);
    if (!imagePath) throw new QuariApiError('not-found', `unknown query image ${request.queryImageId}`);
    const service = await this.service();
    if (request.mode === 'adaptive' && !service.checkpointHash) {
      throw new QuariApiError('unavailable', `model pack ${service.packId} has no QuARI checkpoint; use Baseline`);
    }
    const { width, height } = await readImageHeader(await readFile(imagePath), request.queryImageId);
    for (const c of request.crops) {
      if (!(c.w > 0 && c.h > 0 && c.x < width && c.y < height && c.x + c.w > 0 && c.y + c.h > 0)) {
        throw new QuariApiError('bad-request', `crop ${JSON.stringify(c)} lies outside the query image (${width}×${height})`);
      }
    }
    const queryName = this.store.getQueryImage(request.queryImageId)?.name ?? request.queryImageId;
    const spec = {
      imagePath,
      crops: request.crops,
      mode: request.mode,
      k: request.k ?? DEFAULT_K,
      top: request.top ?? DEFAULT_TOP,
      ...(request.filter ? { filter: request.filter } : {}),
      stackTier: request.stackTier ?? 'perceptual',
    } as const;
    const record = { params: { queryImageId: request.queryImageId, queryName, ...(request.feedback ? { feedback: request.feedback } : {}) } };
    const result = await (request.feedback
      ? searchWithFeedback(service, spec, await service.queryVectors(spec), this.feedbackOf(request.feedback), request.feedback.strategy, { record })
      : service.search(spec, { record }));
    return {
      searchId: result.searchId!,
      packId: service.packId,
      checkpointHash: request.mode === 'adaptive' ? service.checkpointHash : null,
      mode: request.mode,
      candidates: result.candidates,
      durationMs: result.durationMs,
      hits: result.hits.map((h) => this.apiHit(h)),
    };
  }

  listSearches(): SearchRecord[] {
    return this.store.listSearches({ limit: 500 }).map(toSearchRecord);
  }

  /** A recorded search and its recorded ranking, without searching again (images re-ingested or gone since drop out). */
  getSearch(searchId: number): { record: SearchRecord; response: SearchResponse } {
    const row = this.store.getSearch(searchId);
    if (!row) throw new QuariApiError('not-found', `search ${searchId} does not exist`);
    const recorded = this.store.getSearchHits(searchId);
    const images = new Map(this.store.getImages(recorded.map((h) => h.imageId)).map((i) => [i.id, i]));
    const known = this.store.imageQueries.knownMatchesOf(recorded.map((h) => h.imageId));
    const hits: SearchResponse['hits'] = [];
    for (const h of recorded) {
      const image = images.get(h.imageId);
      if (!image || image.status !== 'ok') continue;
      // Stage 3's per-hit result and the stacks are not kept with the ranking: a restored hit shows them as not checked.
      hits.push(this.apiHit({ ...h, path: image.path, sha256: image.sha256 ?? '', width: image.width ?? 0, height: image.height ?? 0, thumbnail: image.thumbnail, verification: { ...NOT_CHECKED }, stack: null, known: known.get(h.imageId) ?? [] }));
    }
    const candidates = (row.params as { candidates?: unknown }).candidates;
    return {
      record: toSearchRecord(row),
      response: { searchId, packId: row.packId, checkpointHash: row.checkpointHash, mode: row.mode, hits, candidates: typeof candidates === 'number' ? candidates : hits.length, durationMs: row.durationMs },
    };
  }

  private apiHit(h: Hit): SearchResponse['hits'][number] {
    return {
      rank: h.rank,
      imageId: h.imageId,
      path: h.path,
      sha256: h.sha256,
      width: h.width,
      height: h.height,
      score: h.score,
      baselineScore: h.baselineScore,
      box: h.box,
      regionBoxes: h.regionBoxes,
      explicitScore: h.explicitScore,
      verification: h.verification,
      stack: h.stack,
      known: h.known,
      thumbnailUrl: this.mediaUrl('thumb', h.imageId),
      imageUrl: this.mediaUrl('image', h.imageId),
    };
  }

  /** The feedback's relevant regions as files and boxes; each image must be an ingested one, its box inside it. */
  private feedbackOf(feedback: SearchFeedback): Feedback {
    return {
      relevant: feedback.relevant.map(({ imageId, box }) => {
        const image = this.store.getImage(imageId);
        if (!image || image.status !== 'ok') throw new QuariApiError('not-found', `feedback: image ${imageId} is not an ingested image of the catalog`);
        const width = image.width ?? 0;
        const height = image.height ?? 0;
        if (!(box.w > 0 && box.h > 0 && box.x >= 0 && box.y >= 0 && box.x + box.w <= width + 1 && box.y + box.h <= height + 1)) {
          throw new QuariApiError('bad-request', `feedback: box ${JSON.stringify(box)} lies outside image ${imageId} (${width}×${height})`);
        }
        return { imagePath: image.path, box };
      }),
      excludeImageIds: feedback.excludeImageIds,
    };
  }

  /** The file of a stored query photo; null for an unknown or malformed id. */
  queryPath(id: string): string | null {
    if (!QUERY_ID.test(id)) return null;
    const path = join(this.queryDir, id);
    return existsSync(path) ? path : null;
  }

  /** New embeddings: the next search reloads the in-memory index (a search in flight keeps its sessions). */
  markIndexStale(): void {
    this.indexStale = true;
  }

  /** Closes the open service (the active pack changed, or the app closes). */
  async drop(): Promise<void> {
    const current = this.open;
    this.open = null;
    if (current) await (await current.service.catch(() => null))?.close();
  }

  private service(): Promise<SearchService> {
    const packId = this.packs.id();
    if (!packId) throw new QuariApiError('unavailable', 'no model pack is installed; run npm install to build the default pack');
    if (this.open?.packId !== packId) {
      const service = this.packs.load().then((pack) => SearchService.open(this.store, pack, { indexFile: ivfIndexPath(this.dataDir, packId) }));
      // A failed open is not cached: the next search tries again.
      service.catch(() => {
        if (this.open?.service === service) this.open = null;
      });
      this.open = { packId, service };
      this.indexStale = false;
    }
    if (this.indexStale) {
      this.indexStale = false;
      return this.open.service.then(async (service) => {
        await service.refresh();
        return service;
      });
    }
    return this.open.service;
  }
}

function toSearchRecord(row: SearchRow): SearchRecord {
  const p = row.params as Record<string, unknown>;
  return {
    searchId: row.id,
    createdAt: row.createdAt,
    packId: row.packId,
    checkpointHash: row.checkpointHash,
    mode: row.mode,
    request: {
      queryImageId: String(p.queryImageId ?? ''),
      queryName: String(p.queryName ?? p.imagePath ?? ''),
      crops: Array.isArray(p.crops) ? (p.crops as SearchRequest['crops']) : [],
      mode: row.mode,
      ...(typeof p.k === 'number' ? { k: p.k } : {}),
      ...(typeof p.top === 'number' ? { top: p.top } : {}),
      ...(p.filter && typeof p.filter === 'object' ? { filter: p.filter as SearchRequest['filter'] } : {}),
      ...(typeof p.stackTier === 'string' ? { stackTier: p.stackTier as SearchRequest['stackTier'] } : {}),
      ...(p.feedback && typeof p.feedback === 'object' ? { feedback: p.feedback as SearchFeedback } : {}),
    },
    resultCount: row.resultCount,
    durationMs: row.durationMs,
  };
}
