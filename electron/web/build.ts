// Builds the renderer with Vite when dist/renderer is missing or older than its sources, so
// `tsx electron/web/main.ts` (and the end-to-end tests) never serve a stale UI; `npm run web` always rebuilds.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RENDERER_DIST = path.join(REPO_ROOT, 'dist', 'renderer');
const SOURCES = [path.join(REPO_ROOT, 'renderer'), path.join(REPO_ROOT, 'electron', 'shared')];

export async function buildRenderer(): Promise<void> {
  // Loaded only when needed: Vite is a dev dependency and a packaged app ships dist/renderer prebuilt.
  const { build } = await import('vite');
  await build({ configFile: path.join(REPO_ROOT, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
}

/** Newest modification time under `dir` (0 where it does not exist, as in a packaged app). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

export async function ensureRendererBuilt(distDir = RENDERER_DIST): Promise<void> {
  const index = path.join(distDir, 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built === 0 || Math.max(...SOURCES.map(newestMtime)) > built) await buildRenderer();
}
