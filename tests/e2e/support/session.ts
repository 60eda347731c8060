// The browser session every E2E test sets up the same way: the real web host on a catalog in the test's temporary
// folder, Debian's Chromium on the served URL at 1280×800, and the page's errors collected for the test to assert
// on. closeUi undoes all of it, the temporary folder included, whatever part of the set-up got done.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { startHost, type RunningHost } from './webHost.ts';

export interface UiSession {
  host: RunningHost;
  browser: Browser;
  page: Page;
}

export interface UiOptions {
  /** The catalog file; default `<tmp>/catalog.sqlite`. */
  catalogPath?: string;
  /** The packs' data home; default `<tmp>/home`. */
  dataHome?: string;
  /** Where uncaught page errors go. */
  pageErrors?: string[];
  /** Also collect console errors there (CSP violations and failed requests surface as console errors). */
  consoleErrors?: boolean;
}

export async function openUi(tmp: string, opts: UiOptions = {}): Promise<UiSession> {
  const host = await startHost({ catalogPath: opts.catalogPath ?? path.join(tmp, 'catalog.sqlite'), dataHome: opts.dataHome ?? path.join(tmp, 'home') });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 })).newPage();
    const errors = opts.pageErrors;
    if (errors) {
      page.on('pageerror', (err) => errors.push(err.message));
      if (opts.consoleErrors) {
        page.on('console', (msg) => {
          if (msg.type() === 'error') errors.push(msg.text());
        });
      }
    }
    await page.goto(host.url);
    return { host, browser, page };
  } catch (err) {
    await browser?.close();
    await host.stop();
    throw err;
  }
}

export async function closeUi(ui: UiSession | undefined, tmp: string | undefined): Promise<void> {
  await ui?.browser.close();
  await ui?.host.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}
