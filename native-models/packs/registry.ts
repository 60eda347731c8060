// Where packs live: the packs built at install time (read-only) and the user's pack folder (where imports go).
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PackManifest } from './manifest.ts';
import { PackError, readManifest, verifyPack, type VerifiedPack } from './verify.ts';

/** Packs built from npm dependencies by `npm install` (see build-default-pack.ts). */
export const BUILT_PACKS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'built');
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
        try {
          listings.push({ id: entry.name, dir, source, manifest: readManifest(dir) });
        } catch (err) {
          listings.push({ id: entry.name, dir, source, error: (err as Error).message });
        }
      }
    }
    return listings;
  }

  /** A pack id (user packs shadow built-in ones) or a folder path. */
  resolveDir(idOrDir: string): string {
    if (idOrDir.includes('/') || idOrDir.includes('\\') || idOrDir === '.' || idOrDir === '..') {
      const dir = resolve(idOrDir);
      if (!existsSync(dir)) throw new PackError(dir, 'folder does not exist');
      return dir;
    }
    for (const root of [this.userPacksDir, this.builtInDir]) {
      const dir = join(root, idOrDir);
      if (existsSync(dir)) return dir;
    }
    const known = this.list().map((p) => p.id);
    throw new Error(`unknown model pack "${idOrDir}" (known: ${known.length ? known.join(', ') : 'none — run npm install to build the default pack'})`);
  }

  async load(idOrDir: string): Promise<VerifiedPack> {
    return verifyPack(this.resolveDir(idOrDir));
  }

  /** Verifies a pack folder, then copies it into the user's pack folder under its id (atomically, via a temp folder). */
  async import(sourceDir: string): Promise<VerifiedPack> {
    const { manifest } = await verifyPack(sourceDir);
    const target = join(this.userPacksDir, manifest.id);
    const staging = `${target}.importing-${process.pid}`;
    mkdirSync(this.userPacksDir, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    for (const path of ['manifest.json', ...Object.keys(manifest.files)]) {
      mkdirSync(dirname(join(staging, path)), { recursive: true });
      cpSync(join(sourceDir, path), join(staging, path));
    }
    // Verify the copy too, so a disk error during the copy cannot leave a corrupt pack behind.
    await verifyPack(staging);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return { dir: target, manifest };
  }
}
