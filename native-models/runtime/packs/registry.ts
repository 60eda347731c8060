// Where packs live: the packs built at install time (read-only) and the user's pack folder (where imports go).
// A pack id means one pack: an import can never take a built-in pack's id (the built-in one is always found first),
// and importing a different manifest under an id already imported is refused rather than overwriting it (catalogs
// pin the encoder behind each id as well, see CatalogStore.registerPack). Import copies bytes: the copy holds
// regular files only, so unplugging the USB stick it came from cannot break it.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackManifest } from './manifest.ts';
import { PackError, parseManifest, readManifest, readManifestBytes, readPackFile, verifyPack, type VerifiedPack } from './verify.ts';

/** Packs built from npm dependencies by `npm install` (see build-default-pack.ts). */
export const BUILT_PACKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packs', 'built');
export const DEFAULT_PACK_ID = 'mobilenetv2-nsfwjs';

/** The user's data folder: QUARI_HOME, else the XDG data folder. The Electron shell passes its userData path instead. */
export function defaultDataHome(): string {
  if (process.env.QUARI_HOME) return resolve(process.env.QUARI_HOME);
  const xdg = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(xdg, 'quari-workstation');
}

export interface PackListing {
  id: string;
  dir: string;
  source: 'built-in' | 'user';
  manifest?: PackManifest;
  /** Set when the manifest cannot be read; `pack verify` also checks the files. */
  error?: string;
}

export class PackRegistry {
  readonly userPacksDir: string;

  constructor(
    dataHome: string = defaultDataHome(),
    private readonly builtInDir: string = BUILT_PACKS_DIR,
  ) {
    this.userPacksDir = join(dataHome, 'packs');
  }

  list(): PackListing[] {
    const listings: PackListing[] = [];
    for (const [source, root] of [['built-in', this.builtInDir], ['user', this.userPacksDir]] as const) {
      if (!existsSync(root)) continue;
      for (const entry of readdirSync(root, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
        const dir = join(root, entry.name);
        if (source === 'user' && existsSync(join(this.builtInDir, entry.name))) {
          listings.push({ id: entry.name, dir, source, error: `ignored: "${entry.name}" is the id of a built-in pack` });
          continue;
        }
        try {
          listings.push({ id: entry.name, dir, source, manifest: readManifest(dir) });
        } catch (err) {
          listings.push({ id: entry.name, dir, source, error: (err as Error).message });
        }
      }
    }
    return listings;
  }

  /** A pack id (a built-in pack first: a user folder cannot shadow it) or a folder path. */
  resolveDir(idOrDir: string): string {
    if (idOrDir.includes('/') || idOrDir.includes('\\') || idOrDir === '.' || idOrDir === '..') {
      const dir = resolve(idOrDir);
      if (!existsSync(dir)) throw new PackError(dir, 'folder does not exist');
      return dir;
    }
    for (const root of [this.builtInDir, this.userPacksDir]) {
      const dir = join(root, idOrDir);
      if (existsSync(dir)) return dir;
    }
    const known = this.list().map((p) => p.id);
    throw new Error(`unknown model pack "${idOrDir}" (known: ${known.length ? known.join(', ') : 'none — run npm install to build the default pack'})`);
  }

  async load(idOrDir: string): Promise<VerifiedPack> {
    return verifyPack(this.resolveDir(idOrDir));
  }

  /**
   * Copies a pack folder's bytes into the user's pack folder under its id (atomically, via a temp folder), each file
   * verified as it is copied from the one descriptor it is read through (readPackFile), so nothing swapped in after
   * a check — a FIFO, another file — is copied or waited on; then the copy is verified whole, checkpoint included.
   * Re-importing the identical manifest is a no-op copy; a different one under a known id is refused.
   */
  async import(sourceDir: string): Promise<VerifiedPack> {
    const source = resolve(sourceDir);
    const manifestBytes = readManifestBytes(source);
    const manifest = parseManifest(source, manifestBytes);
    if (existsSync(join(this.builtInDir, manifest.id))) {
      throw new PackError(source, `id "${manifest.id}" is the built-in pack's; an imported pack needs an id of its own`);
    }
    const target = join(this.userPacksDir, manifest.id);
    if (existsSync(join(target, 'manifest.json')) && !readManifestBytes(target).equals(manifestBytes)) {
      throw new PackError(source, `a different pack with id "${manifest.id}" is already imported (${target}); a pack id is immutable: give this pack a new id`);
    }
    const staging = `${target}.importing-${process.pid}`;
    mkdirSync(this.userPacksDir, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    try {
      // The manifest as parsed above, not as the source holds it now.
      writeFileSync(join(staging, 'manifest.json'), manifestBytes, { flag: 'wx' });
      for (const [path, entry] of Object.entries(manifest.files)) {
        mkdirSync(dirname(join(staging, path)), { recursive: true });
        await readPackFile(source, path, entry, join(staging, path));
      }
      // The copy whole (a disk error during the copy cannot leave a corrupt pack), and its checkpoint.
      await verifyPack(staging).catch((err: unknown) => {
        throw err instanceof PackError ? new PackError(source, err.detail) : err;
      });
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { dir: target, manifest };
  }
}
