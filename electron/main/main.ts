// Electron main-process entry (bundled to dist/electron/main.mjs): the only module that imports 'electron' at run
// time. It hands the real module to the shell, which does the work.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as electron from 'electron';
import { defaultDataHome } from '../../native-models/runtime/packs/registry.ts';
import { createAppService } from '../engine/app/AppService.ts';
import { prepareShell, startShell } from './shell.ts';

const bundleDir = path.dirname(fileURLToPath(import.meta.url));
// dist/electron/main.mjs → the app root (the repo, or app.asar once packaged).
const appRoot = path.resolve(bundleDir, '..', '..');
// Packaged builds carry the default pack as an extra resource (electron-builder.yml); a dev run reads the built one.
const builtInPacksDir = electron.app.isPackaged
  ? path.join(process.resourcesPath, 'packs')
  : path.join(appRoot, 'native-models', 'packs', 'built');

if (!prepareShell(electron, defaultDataHome())) {
  // Another instance owns the catalog; it is focused through its 'second-instance' event.
  electron.app.quit();
} else {
  startShell(electron, {
    argv: process.argv,
    bundleDir,
    rendererDir: path.join(appRoot, 'dist', 'renderer'),
    builtInPacksDir,
    createEngine: (options) => createAppService({ ...options, client: 'electron' }),
  }).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    electron.dialog.showErrorBox('QuARI workstation could not start', message);
    electron.app.exit(1);
  });
}
