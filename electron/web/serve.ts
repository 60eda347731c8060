// Opens the catalog through the engine's AppService and serves it with the built renderer on 127.0.0.1:
// used by `npm run web` (main.ts) and by `npm start` where Electron is unavailable.
import { createAppService } from '../engine/app/AppService.ts';
import { RENDERER_DIST, ensureRendererBuilt } from './build.ts';
import { createWebSession, startWebHost, type WebHost } from './host.ts';

export interface ServeOptions {
  catalogPath: string;
  port?: number;
  dataHome?: string;
}

/** Builds the renderer if needed, opens the catalog and serves both. */
export async function serveWeb(options: ServeOptions): Promise<{ host: WebHost; close(): Promise<void> }> {
  await ensureRendererBuilt();
  const session = createWebSession();
  const service = await createAppService({ catalogPath: options.catalogPath, dataHome: options.dataHome, mediaUrl: session.mediaUrl });
  let host: WebHost;
  try {
    host = await startWebHost({ backend: service, session, distDir: RENDERER_DIST, port: options.port });
  } catch (err) {
    await service.close();
    throw err;
  }
  return {
    host,
    async close() {
      await host.close();
      await service.close();
    },
  };
}
