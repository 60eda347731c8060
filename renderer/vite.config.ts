// Builds the renderer to dist/renderer with relative asset URLs, so the same bundle loads from Electron's
// app protocol and from the loopback web host. No inline scripts are emitted (strict CSP).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const rendererRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: rendererRoot,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // A module-preload polyfill would be injected as an inline script in older targets; Chromium needs none.
    modulePreload: { polyfill: false },
    target: 'chrome120',
    sourcemap: false,
  },
});
