// The analyst's whole path through the real UI, the real web host and a real catalog: ingest a folder (one file
// is corrupt), open a query photo, draw a crop over a small object by mouse, run an adaptive search, find the
// photo the crop came from at rank 1, tag it with a hotkey, compare, export the HTML report and read it back.
// With QUARI_SCREENSHOTS_DIR set (npm run screenshots), a screenshot of every view is saved there, made with
// photo-like evidence from the training cache (support/photoScenes.ts) at 1280×800, and the results and compare
// views also at 1024×640 and 1920×1080.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Box, QuariApi } from '../../electron/shared/api.ts';
import { LIKELY_MIN_INLIERS } from '../../electron/shared/likelyMatches.ts';
import { ADAPTIVE_PACK_NAME, installAdaptivePack } from './support/adaptivePack.ts';
import { makePhotoScenes } from './support/photoScenes.ts';
import { makeScenes, type SceneSet } from './support/scenes.ts';
import { closeUi, openUi, type UiSession } from './support/session.ts';
import { shapesSvg } from '../helpers/shapes.ts';
import { REPO_ROOT } from './support/webHost.ts';

// `npm run screenshots` sets this to docs/screenshots; plain test runs leave the tracked images alone.
const SHOTS = process.env.QUARI_SCREENSHOTS_DIR ? path.resolve(REPO_ROOT, process.env.QUARI_SCREENSHOTS_DIR) : null;
const CASE = { name: 'Operation Lantern', categories: ['Same object', 'Same room', 'Possible'] };
const NOTE = 'Ringed lamp on the sideboard, same as in the query photo';

describe('investigation flow in the browser', { timeout: 600_000 }, () => {
  let tmp: string;
  let scenes: SceneSet;
  let ui: UiSession | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let searchId = 0;
  let checkpointHash = '';
  /** A photo and a crop of it that stage 3 verifies, for the likely-matches line. */
  let verifiable: { file: string; box: Box };

  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  /** The same view at the smallest and a large supported window, then back to 1280×800. */
  const shotSizes = async (name: string) => {
    if (!SHOTS) return;
    for (const [width, height] of [[1024, 640], [1920, 1080]] as const) {
      await page.setViewportSize({ width, height });
      await page.waitForFunction(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)))));
      await page.screenshot({ path: path.join(SHOTS, `${name}-${width}x${height}.png`) });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-e2e-'));
    scenes = SHOTS ? await makePhotoScenes(path.join(tmp, 'evidence')) : await makeScenes(path.join(tmp, 'evidence'));
    if (SHOTS) verifiable = { file: scenes.objectScene, box: scenes.objectBox };
    else {
      const poster = path.join(scenes.folder, 'poster.jpg');
      await sharp(shapesSvg(scenes.width, Math.round(scenes.width * 0.75), 5, 160)).jpeg({ quality: 90 }).toFile(poster);
      scenes.scenes.push(poster);
      verifiable = { file: poster, box: { x: 200, y: 140, w: 200, h: 150 } };
    }
    if (SHOTS) await fs.mkdir(SHOTS, { recursive: true });
    const dataHome = path.join(tmp, 'home');
    checkpointHash = await installAdaptivePack(dataHome);
    ui = await openUi(tmp, { dataHome, pageErrors, consoleErrors: true });
    page = ui.page;
  });

  after(() => closeUi(ui, tmp));

  it('drops the token from the address bar and shows the empty catalog', async () => {
    assert.equal(new URL(page.url()).hash, '', 'the session token must not stay in the URL');
    assert.deepEqual(await page.context().cookies(), [], 'the session lives in the page, never in a cookie');
    await page.getByRole('heading', { name: 'Add evidence folder' }).waitFor();
    await page.getByTestId('total-images').filter({ hasText: '0' }).waitFor();
  });

  it('chooses the model pack with a QuARI checkpoint', async () => {
    const radio = page.getByRole('radio', { name: new RegExp(ADAPTIVE_PACK_NAME.replace(/[()+]/g, '\\$&')) });
    await radio.check();
    await page.locator('.pack', { hasText: ADAPTIVE_PACK_NAME }).waitFor();
    assert.equal(await radio.isChecked(), true);
  });

  it('ingests the folder through the UI and lists the corrupt file as failed', async () => {
    // Watch the event stream the UI uses, to check progress really arrives over Server-Sent Events.
    await page.evaluate(() => {
      const w = window as unknown as { quari: QuariApi; quariEvents: string[] };
      w.quariEvents = [];
      w.quari.onEvent((e) => w.quariEvents.push(e.progress.state));
    });
    await page.getByLabel('Folder path').fill(scenes.folder);
    await page.getByRole('button', { name: 'Ingest folder' }).click();
    const status = page.locator('[data-testid="ingest-status"][data-state="done"]');
    await status.waitFor({ timeout: 300_000 });
    await page.getByTestId('failures').waitFor();
    await shot('catalog');
    const states = await page.evaluate(() => (window as unknown as { quariEvents: string[] }).quariEvents);
    assert.ok(states.includes('running') && states.at(-1) === 'done', `ingest progress arrives as events: ${states.join(',')}`);
    const expectedFiles = scenes.scenes.length + 1;
    assert.match((await page.getByTestId('ingest-status').innerText()).replace(/\s+/g, ' '), new RegExp(`${expectedFiles} / ${expectedFiles} files`));
    await page.getByTestId('total-indexed').filter({ hasText: new RegExp(`^${scenes.scenes.length}$`) }).waitFor();
    // The corrupt file is a failure, not an image of the catalog.
    await page.getByTestId('total-images').filter({ hasText: new RegExp(`^${scenes.scenes.length}$`) }).waitFor();

    const failures = page.getByTestId('failures');
    await failures.waitFor();
    const items = failures.locator('li');
    assert.equal(await items.count(), 1, 'exactly the truncated JPEG fails');
    const text = await items.first().innerText();
    assert.ok(text.includes(scenes.badFile), `failure list names ${scenes.badFile}: ${text}`);
    assert.ok(text.split('\n').length >= 3, 'each failure shows an error message');
  });

  it('creates a case with three hotkeyed categories', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Cases/ }).click();
    await page.getByLabel('Name').fill(CASE.name);
    await page.getByLabel(/Categories/).fill(CASE.categories.join(', '));
    await page.getByRole('button', { name: 'Create case' }).click();
    await page.getByRole('heading', { name: CASE.name }).waitFor();
    for (const [i, name] of CASE.categories.entries()) {
      await page.locator('.cats span', { hasText: name }).filter({ hasText: String(i + 1) }).waitFor();
    }
  });

  it('opens the query photo and draws a crop over the object with the mouse', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    await page.getByTestId('query-file').setInputFiles(scenes.objectScene);
    const img = page.getByTestId('crop-stage').locator('img');
    await img.waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null;
      return !!el && el.complete && el.naturalWidth > 0;
    });
    const rect = (await img.boundingBox())!;
    const scale = rect.width / scenes.width;
    const b = scenes.objectBox;
    const x0 = rect.x + b.x * scale;
    const y0 = rect.y + b.y * scale;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move(x0 + (b.w * scale) / 2, y0 + (b.h * scale) / 2, { steps: 5 });
    await page.mouse.move(x0 + b.w * scale, y0 + b.h * scale, { steps: 5 });
    await page.mouse.up();

    const crop = await page.getByTestId('crop-list').locator('li').first().innerText();
    const m = /(\d+)×(\d+) at (\d+),(\d+)/.exec(crop);
    assert.ok(m, `crop list shows the box: ${crop}`);
    const [w, h, x, y] = m.slice(1).map(Number);
    // Mouse positions are whole CSS pixels; one display pixel is 1/scale image pixels.
    const tol = Math.ceil(1 / scale) + 1;
    for (const [got, want, what] of [[x, b.x, 'x'], [y, b.y, 'y'], [w, b.w, 'w'], [h, b.h, 'h']] as const) {
      assert.ok(Math.abs(got - want) <= tol, `crop ${what} ${got} is within ${tol} px of ${want}`);
    }
    await shot('query-crop');
  });

  it('runs an adaptive search and finds the source photo at rank 1', async () => {
    const adaptive = page.getByRole('radio', { name: 'Adaptive' });
    assert.equal(await adaptive.isDisabled(), false, 'the active pack offers adaptive (QuARI) scoring');
    await page.locator('label', { has: adaptive }).click();
    await page.getByTestId('crop-stage').focus();
    await page.keyboard.press('Enter');
    const summary = page.getByTestId('results-summary');
    await summary.waitFor({ timeout: 120_000 });
    assert.match(await summary.innerText(), /Adaptive/);
    assert.ok((await summary.innerText()).includes(checkpointHash.slice(0, 12)), 'the summary names the checkpoint');
    searchId = Number(/search #(\d+)/.exec(await summary.innerText())?.[1]);
    assert.ok(searchId > 0, 'the summary names the recorded search');
    const first = page.getByTestId('result-tile').first();
    assert.equal(await first.getAttribute('data-rank'), '1');
    assert.equal(await first.getAttribute('data-path'), scenes.objectScene);
    const tiles = page.getByTestId('result-tile');
    assert.match(await summary.innerText(), new RegExp(`^${scenes.scenes.length} results`), 'every ingested scene is ranked, the corrupt file is not');
    if (!SHOTS) assert.equal(await tiles.count(), scenes.scenes.length, 'all tiles fit on screen (the grid renders only the rows in view)');
    const scores = await tiles.evaluateAll((els) => els.map((e) => [Number(e.getAttribute('data-score')), Number(e.getAttribute('data-baseline'))]));
    assert.ok(scores.some(([a, b]) => Math.abs(a - b) > 1e-4), 'QuARI rescoring changed the scores');
  });

  it('tags the selected result with hotkey 1', async () => {
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('1');
    await page.getByTestId('notice').filter({ hasText: `as ${CASE.categories[0]}` }).waitFor();
    const tagged = page.getByTestId('tagged-items');
    await tagged.waitFor();
    const text = await tagged.innerText();
    assert.ok(text.includes(path.basename(scenes.objectScene)), text);
    assert.ok(text.includes(CASE.categories[0]), text);
    assert.ok(text.includes(`search #${searchId}`), `the tag records the search that found it: ${text}`);
    await page.getByLabel('Note').fill(NOTE);
    await page.getByLabel('Note').blur();
    await tagged.filter({ hasText: NOTE }).waitFor();
    await page.getByTestId('result-tile').first().focus();
    await page.getByRole('button', { name: /^Rank 1:/ }).hover();
    await page.locator('.loupe').waitFor();
    await shot('results');
    await page.mouse.move(5, 400);
    await shotSizes('results');
  });

  it('opens compare with Enter, zooms both panes with the wheel, closes with Esc', async () => {
    await page.mouse.move(5, 400);
    await page.keyboard.press('Enter');
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    // The matched region: the verified quadrilateral, or the window box of an unverified hit.
    await compare.locator('[data-testid="match-quad"], [data-testid="match-box"]').first().waitFor();
    const contents = compare.locator('.content');
    assert.equal(await contents.count(), 2);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid="compare"] img')].every((i) => (i as HTMLImageElement).complete),
    );
    await shot('compare');
    await shotSizes('compare');
    const before = await contents.evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    const pane = (await compare.locator('.viewport').first().boundingBox())!;
    await page.mouse.move(pane.x + pane.width / 2, pane.y + pane.height / 2);
    await page.mouse.wheel(0, -300);
    await page.waitForFunction(
      (prev) => [...document.querySelectorAll('[data-testid="compare"] .content')].every((e, i) => (e as HTMLElement).style.transform !== prev[i]),
      before,
    );
    // Dragging the hit pane pans the query pane too.
    const zoomed = await contents.evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    const hitPane = (await compare.locator('.viewport').nth(1).boundingBox())!;
    await page.mouse.move(hitPane.x + 100, hitPane.y + 100);
    await page.mouse.down();
    await page.mouse.move(hitPane.x + 160, hitPane.y + 130, { steps: 4 });
    await page.mouse.up();
    const panned = await contents.evaluateAll((els) => els.map((e) => (e as HTMLElement).style.transform));
    assert.notEqual(panned[0], zoomed[0], 'query pane follows the pan');
    assert.notEqual(panned[1], zoomed[1]);
    await page.keyboard.press('Escape');
    await compare.waitFor({ state: 'detached' });
  });

  it('exports the HTML report with path, SHA-256, tag and search parameters', async () => {
    await page.getByRole('button', { name: 'Export HTML report' }).first().click();
    const where = page.getByTestId('export-path').first();
    await where.waitFor();
    const reportPath = (await where.innerText()).trim();
    assert.ok(path.isAbsolute(reportPath), reportPath);
    assert.ok(!reportPath.startsWith(scenes.folder), 'reports are never written into the evidence folder');
    const html = await fs.readFile(reportPath, 'utf8');
    const sha = createHash('sha256').update(await fs.readFile(scenes.objectScene)).digest('hex');
    assert.ok(html.includes(scenes.objectScene), 'report names the file path');
    assert.ok(html.includes(sha), 'report carries the SHA-256 of the evidence file');
    assert.ok(html.includes(CASE.categories[0]), 'report shows the tag');
    assert.ok(html.includes(CASE.name), 'report names the case');
    assert.ok(html.includes(NOTE), 'report carries the note');
    const row = new RegExp(`id="search-${searchId}"[\\s\\S]*?</section>`).exec(html)?.[0] ?? '';
    assert.ok(row, `report lists search #${searchId}`);
    const decoded = row.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    assert.ok(decoded.includes('adaptive'), 'search row gives the mode');
    assert.match(html, /Query crop[^<]*· search #\d+/, 'the query crop stands beside the hit');
    assert.match(html, /head SHA-256 <span class="mono">[0-9a-f]{64}</, 'the audit log head hash is printed');
    const b = scenes.objectBox;
    for (const v of [b.x, b.y]) assert.ok(new RegExp(`\\b${v - 2}\\b|\\b${v - 1}\\b|\\b${v}\\b|\\b${v + 1}\\b|\\b${v + 2}\\b`).test(decoded), `search row gives the crop (near ${v})`);
  });

  it('shows the case with everything tagged', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Cases/ }).click();
    const items = page.getByTestId('tagged-items');
    await items.waitFor();
    const sha = createHash('sha256').update(await fs.readFile(scenes.objectScene)).digest('hex');
    assert.ok((await items.innerText()).includes(sha));
    await shot('cases');
  });

  it('lists the search in history and re-runs it', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^History/ }).click();
    const table = page.getByTestId('history');
    await table.waitFor();
    const row = table.locator('tr', { has: page.locator('td', { hasText: new RegExp(`^${searchId}$`) }) });
    assert.match(await row.innerText(), /adaptive/);
    await shot('history');
    await row.getByRole('button', { name: 'Re-run' }).click();
    const summary = page.getByTestId('results-summary');
    await page.waitForFunction((id) => {
      const m = /search #(\d+)/.exec(document.querySelector('[data-testid="results-summary"]')?.textContent ?? '');
      return !!m && Number(m[1]) > id;
    }, searchId);
    assert.match(await summary.innerText(), /Adaptive/);
    assert.equal(await page.getByTestId('result-tile').first().getAttribute('data-path'), scenes.objectScene);
  });

  it('re-runs a search from history after a reload, showing its stored query image and crop', async () => {
    await page.reload();
    await page.getByRole('navigation').getByRole('button', { name: /^History/ }).click();
    const row = page.getByTestId('history').locator('tr', { has: page.locator('td', { hasText: new RegExp(`^${searchId}$`) }) });
    await row.getByRole('button', { name: 'Re-run' }).click();
    await page.getByTestId('results-summary').waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null;
      return !!el && el.complete && el.naturalWidth > 0;
    });
    assert.equal(await page.getByTestId('crop-list').locator('li').count(), 1, 'the crop comes back with the search');
    assert.equal(await page.getByTestId('result-tile').first().getAttribute('data-path'), scenes.objectScene);
  });

  it('blurs every thumbnail until clicked when the setting says so', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
    await page.getByLabel('Blur every thumbnail until clicked').check();
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    const tiles = page.getByTestId('result-tile');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="result-tile"] img.blurred').length > 0);
    assert.equal(await tiles.locator('img.blurred').count(), await tiles.count(), 'every visible thumbnail is blurred');
    await tiles.nth(1).click();
    assert.equal(await tiles.nth(1).locator('img.blurred').count(), 0, 'a click reveals it');
    assert.equal(await tiles.nth(2).locator('img.blurred').count(), 1, 'the others stay hidden');
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
    await page.getByLabel('Blur every thumbnail until clicked').uncheck();
  });

  it('draws the likely-matches line after the verified hits of a one-crop search and explains it', async () => {
    // The synthetic rings repeat too regularly for ORB to verify anything; the poster's shapes verify.
    const { file, box } = verifiable;
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    await page.getByTestId('query-file').setInputFiles(file);
    await page.waitForFunction((name) => {
      const el = document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null;
      return !!el && el.alt.endsWith(name) && el.complete && el.naturalWidth > 0;
    }, path.basename(file));
    const img = page.getByTestId('crop-stage').locator('img');
    const rect = (await img.boundingBox())!;
    const scale = rect.width / scenes.width;
    await page.mouse.move(rect.x + box.x * scale, rect.y + box.y * scale);
    await page.mouse.down();
    await page.mouse.move(rect.x + (box.x + box.w) * scale, rect.y + (box.y + box.h) * scale, { steps: 5 });
    await page.mouse.up();
    const before = await page.getByTestId('results-summary').innerText();
    await page.getByTestId('crop-stage').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction((prev) => (document.querySelector('[data-testid="results-summary"]') as HTMLElement | null)?.innerText !== prev, before, { timeout: 120_000 });

    const divider = page.getByTestId('likely-divider');
    const count = Number(await divider.getAttribute('data-count'));
    const verdicts = await page.getByTestId('result-tile').evaluateAll((els) => els.map((e) => ({ status: e.getAttribute('data-verification'), inliers: Number(e.getAttribute('data-inliers')) })));
    const strong = verdicts.map((v) => v.status === 'verified' && v.inliers >= LIKELY_MIN_INLIERS);
    assert.ok(count >= 1, `the photo the crop came from is verified: ${JSON.stringify(verdicts.slice(0, 5))}`);
    assert.equal(await page.getByTestId('result-tile').first().getAttribute('data-path'), file);
    assert.ok(strong.slice(0, count).every(Boolean) && !strong[count], `above the line exactly the hits verified with at least ${LIKELY_MIN_INLIERS} inliers: ${JSON.stringify(verdicts.slice(0, count + 1))}`);
    assert.match(await divider.innerText(), new RegExp(`${count} likely match`));
    // The line lies below the last verified tile and above the first unverified one.
    const line = (await divider.boundingBox())!;
    const last = (await page.getByTestId('result-tile').nth(count - 1).boundingBox())!;
    const next = (await page.getByTestId('result-tile').nth(count).boundingBox())!;
    assert.ok(last.y + last.height <= line.y && line.y + line.height <= next.y, JSON.stringify({ last, line, next }));
    await divider.getByRole('button', { name: 'What is this?' }).click();
    assert.match(await page.getByTestId('likely-legend').innerText(), /does not depend on the crop's size/);
    await shot('likely-matches');
    await divider.getByRole('button', { name: 'What is this?' }).click();
    await page.getByTestId('likely-legend').waitFor({ state: 'detached' });
  });

  it('raised no page errors or CSP violations', () => {
    assert.deepEqual(pageErrors, []);
  });
});
