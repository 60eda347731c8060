import type { QuariApi } from '../../electron/shared/api.ts';

declare global {
  interface Window {
    /** Injected by Electron's preload; in a plain browser the loopback HTTP client installs itself here. */
    quari: QuariApi;
  }
}

export {};
