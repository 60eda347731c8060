// The catalog's choice of model pack: which installed pack is active (stored per catalog), the packs as the UI
// lists them, and loading the active one for ingest and search.
import type { CatalogStore } from '../../../db/Interface.ts';
import { DEFAULT_PACK_ID, type PackRegistry } from '../../../native-models/runtime/packs/registry.ts';
import type { VerifiedPack } from '../../../native-models/runtime/packs/verify.ts';
import { QuariApiError, type PackSummary } from '../../shared/api.ts';

export class ActivePack {
  constructor(
    private readonly store: CatalogStore,
    private readonly registry: PackRegistry,
  ) {}

  /** The stored choice if it is still installed and valid, else the built-in default, else any valid pack. */
  id(): string | null {
    const chosen = this.store.getSetting('activePackId');
    const packs = this.registry.list().filter((p) => !p.error);
    if (typeof chosen === 'string' && packs.some((p) => p.id === chosen)) return chosen;
    return packs.find((p) => p.id === DEFAULT_PACK_ID)?.id ?? packs[0]?.id ?? null;
  }

  /** The active pack, verified; 'unavailable' when none is installed or it fails verification. */
  async load(): Promise<VerifiedPack> {
    const packId = this.id();
    if (!packId) throw new QuariApiError('unavailable', 'no model pack is installed; run npm install to build the default pack');
    return this.registry.load(packId).catch((err: Error) => {
      throw new QuariApiError('unavailable', err.message);
    });
  }

  async choose(packId: string): Promise<void> {
    const pack = this.summaries().find((p) => p.id === packId);
    if (!pack) throw new QuariApiError('not-found', `no model pack "${packId}"`);
    if (pack.error) throw new QuariApiError('unavailable', pack.error);
    await this.registry.load(packId).catch((err: Error) => {
      throw new QuariApiError('unavailable', err.message);
    });
    this.store.setSetting('activePackId', packId);
  }

  summaries(): PackSummary[] {
    return this.registry.list().map((p) => {
      const m = p.manifest;
      const weights = m?.quariCheckpoint ? m.files[`${m.quariCheckpoint}/weights.pt`] : undefined;
      return {
        id: p.id,
        name: m?.name ?? p.id,
        version: m?.version ?? '',
        embeddingDim: m?.embeddingDim ?? 0,
        hasQuariCheckpoint: m?.quariCheckpoint !== undefined,
        checkpointHash: weights?.sha256 ?? null,
        source: p.source,
        ...(p.error ? { error: p.error } : {}),
      };
    });
  }
}
