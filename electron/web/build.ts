// Builds the renderer with Vite when dist/renderer is missing, so `tsx electron/web/main.ts` works from a clean
// checkout; `npm run web` always rebuilds first.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RENDERER_DIST = path.join(REPO_ROOT, 'dist', 'renderer');

export async function buildRenderer(): Promise<void> {
  // Loaded only when needed: Vite is a dev dependency and a packaged app ships dist/renderer prebuilt.
  const { build } = await import('vite');
  await build({ configFile: path.join(REPO_ROOT, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
}

export async function ensureRendererBuilt(distDir = RENDERER_DIST): Promise<void> {
  if (!existsSync(path.join(distDir, 'index.html'))) await buildRenderer();
}
