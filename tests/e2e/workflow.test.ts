// Issue 13 through the real web host, a real catalog and Debian's Chromium. First each bug, the way the analyst met
// it: results that outlive their query, a 1024×640 window, a double tag key, history order, the loupe
// during keyboard moves, totals during ingest, a tiny crop, a truncated JPEG query, a note on an untagged hit, failed
// files counted as images, Browse… without a picker, one box for a multi-crop hit, the report at 1280 px, a reload,
// and the web host's default catalog location. Then the capabilities: match boxes on tiles, thumbnail size, the
// query photo marked, relevance feedback, search from a hit, the crop editor's zoom, pan, magnifier and resizable
// panel, the likely-matches divider, a pack imported in the app, the examiner and the audit log of the session.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Box } from '../../electron/shared/api.ts';
import { makePack } from '../helpers/tinyPack.ts';
import { makeScenes, SCENE_W, type SceneSet } from './support/scenes.ts';
import { closeUi, openUi, type UiSession } from './support/session.ts';
import { REPO_ROOT } from './support/webHost.ts';

const SCENES = 30;

describe('investigation workflow (issue 13) in the browser', { timeout: 600_000 }, () => {
  let tmp: string;
  let scenes: SceneSet;
  let ui: UiSession | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  /** Draws a crop by mouse over image pixels `b` of the query photo on screen. */
  async function drawCrop(b: Box) {
    const img = page.getByTestId('crop-stage').locator('img');
    const rect = (await img.boundingBox())!;
    const scale = rect.width / SCENE_W;
    await page.mouse.move(rect.x + b.x * scale, rect.y + b.y * scale);
    await page.mouse.down();
    await page.mouse.move(rect.x + (b.x + b.w / 2) * scale, rect.y + (b.y + b.h / 2) * scale, { steps: 3 });
    await page.mouse.move(rect.x + (b.x + b.w) * scale, rect.y + (b.y + b.h) * scale, { steps: 3 });
    await page.mouse.up();
  }

  /** Opens a photo other than the one on screen and waits until the crop editor shows it. */
  async function openQuery(file: string) {
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    const stage = page.getByTestId('crop-stage').locator('img');
    const previous = (await stage.count()) > 0 ? await stage.getAttribute('src') : null;
    await page.getByTestId('query-file').setInputFiles(file);
    await page.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null;
      return !!el && el.getAttribute('src') !== prev && el.complete && el.naturalWidth > 0;
    }, previous);
  }

  async function search(): Promise<number> {
    const summary = page.getByTestId('results-summary');
    const before = (await summary.count()) > 0 ? await summary.innerText() : '';
    await page.locator('aside.query button[type="submit"]').click();
    await page.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid="results-summary"]') as HTMLElement | null;
      return !!el && el.innerText !== prev;
    }, before, { timeout: 120_000 });
    return Number(/search #(\d+)/.exec(await summary.innerText())?.[1]);
  }

  const taggedBadge = async () => Number((await page.getByRole('navigation').locator('.count').innerText()).trim());

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-e2e-bugs-'));
    scenes = await makeScenes(path.join(tmp, 'evidence'), SCENES);
    ui = await openUi(tmp, { pageErrors });
    page = ui.page;
    await page.getByRole('heading', { name: 'Add evidence folder' }).waitFor();
  });

  after(() => closeUi(ui, tmp));

  it('Browse… in the web host says there is no picker and where to type the path', async () => {
    await page.getByRole('button', { name: 'Browse…' }).click();
    await page.getByTestId('browse-hint').waitFor();
    assert.match(await page.getByTestId('browse-hint').innerText(), /Type the folder's full path/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'folder-path');
  });

  it('totals follow a running ingest, and failed files are not counted as images', async () => {
    // Record the Images total whenever it changes while the run is still running.
    await page.evaluate(() => {
      const w = window as unknown as { seen: string[] };
      w.seen = [];
      new MutationObserver(() => {
        const state = document.querySelector('[data-testid="ingest-status"]')?.getAttribute('data-state');
        const total = document.querySelector('[data-testid="total-images"]')?.textContent ?? '';
        if (state === 'running') w.seen.push(total);
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    await page.getByLabel('Folder path').fill(scenes.folder);
    await page.getByRole('button', { name: 'Ingest folder' }).click();
    await page.locator('[data-testid="ingest-status"][data-state="done"]').waitFor({ timeout: 300_000 });
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    assert.ok(seen.some((t) => Number(t) > 0 && Number(t) < SCENES), `the total grew during the run, not only at its end: ${[...new Set(seen)].join(',')}`);
    await page.getByTestId('total-images').filter({ hasText: new RegExp(`^${SCENES}$`) }).waitFor();
    assert.match(await page.locator('header .facts').innerText(), new RegExp(`${SCENES} images`));
    assert.match(await page.locator('header .facts').innerText(), /1 failed/);
  });

  it('a truncated JPEG is refused as a query, with the reason', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    await page.getByTestId('query-file').setInputFiles(scenes.badFile);
    const banner = page.getByTestId('error');
    await banner.waitFor();
    assert.match(await banner.innerText(), /corrupt-upload\.jpg.*cannot decode/s);
    await banner.getByRole('button').first().click();
  });

  it('a crop under 32 px is flagged', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Cases/ }).click();
    await page.getByLabel('Name').fill('Bugs case');
    await page.getByLabel(/Categories/).fill('Same object, Same room');
    await page.getByRole('button', { name: 'Create case' }).click();
    await page.getByRole('heading', { name: 'Bugs case' }).waitFor();
    await openQuery(scenes.scenes[3]!);
    await drawCrop({ x: 300, y: 200, w: 11, h: 11 });
    await page.getByTestId('tiny-crop-warning').waitFor();
    assert.match(await page.getByTestId('tiny-crop-warning').innerText(), /smaller than 32 px/);
    await page.getByRole('button', { name: 'Delete crop 1' }).click();
    await page.getByTestId('tiny-crop-warning').waitFor({ state: 'detached' });
  });

  it('the crop editor zooms (keys, wheel), pans (arrows, Alt-drag), magnifies while drawing, and a crop drawn zoomed is exact', async () => {
    const stage = page.getByTestId('crop-stage');
    const img = stage.locator('img');
    const zoom = async () => Number(await stage.getAttribute('data-zoom'));
    const fitted = (await img.boundingBox())!;
    await stage.focus();
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    assert.equal(await zoom(), 1.5625);
    assert.equal(await page.getByTestId('crop-zoom').innerText(), '156%');
    assert.ok(Math.abs((await img.boundingBox())!.width - fitted.width * 1.5625) < 1, 'the photo is drawn 1.5625× larger');
    await page.keyboard.press('0');
    assert.equal(await zoom(), 1);
    const view = (await stage.boundingBox())!;
    await page.mouse.move(view.x + view.width * 0.75, view.y + view.height * 0.75);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="crop-stage"]')?.getAttribute('data-zoom')) > 1);
    // Zoomed at the pointer: the photo moved up-left, so the point under the pointer stayed put.
    const wheeled = (await img.boundingBox())!;
    assert.ok(wheeled.x < fitted.x && wheeled.y < fitted.y, JSON.stringify(wheeled));

    await stage.focus();
    const before = (await img.boundingBox())!;
    await page.keyboard.press('ArrowLeft');
    assert.ok((await img.boundingBox())!.x > before.x, 'ArrowLeft with no box selected pans towards the left edge');
    const panStart = (await img.boundingBox())!;
    await page.keyboard.down('Alt');
    await page.mouse.move(view.x + view.width / 2, view.y + view.height / 2);
    await page.mouse.down();
    await page.mouse.move(view.x + view.width / 2 - 30, view.y + view.height / 2 - 20, { steps: 3 });
    await page.mouse.up();
    await page.keyboard.up('Alt');
    const panned = (await img.boundingBox())!;
    assert.ok(Math.abs(panned.x - (panStart.x - 30)) < 1.5 && Math.abs(panned.y - (panStart.y - 20)) < 1.5, `Alt-drag pans: ${JSON.stringify([panStart, panned])}`);
    assert.equal(await page.getByTestId('crop-list').count(), 0, 'panning drew no box');

    // Draw over a region visible at this zoom; the magnifier shows while the button is down.
    const shown = (await img.boundingBox())!;
    const scale = shown.width / SCENE_W;
    const visible = { x: (view.x - shown.x) / scale, y: (view.y - shown.y) / scale };
    const b = { x: Math.round(visible.x + 20), y: Math.round(visible.y + 20), w: 60, h: 40 };
    await page.mouse.move(shown.x + b.x * scale, shown.y + b.y * scale);
    await page.mouse.down();
    await page.mouse.move(shown.x + (b.x + b.w / 2) * scale, shown.y + (b.y + b.h / 2) * scale, { steps: 3 });
    await page.getByTestId('crop-magnifier').waitFor();
    await page.mouse.move(shown.x + (b.x + b.w) * scale, shown.y + (b.y + b.h) * scale, { steps: 3 });
    await page.mouse.up();
    await page.getByTestId('crop-magnifier').waitFor({ state: 'detached' });
    const m = /(\d+)×(\d+) at (\d+),(\d+)/.exec(await page.getByTestId('crop-list').locator('li').first().innerText())!;
    const [w, h, x, y] = m.slice(1).map(Number);
    const tol = Math.ceil(1 / scale) + 1;
    for (const [got, want] of [[x, b.x], [y, b.y], [w, b.w], [h, b.h]] as const) assert.ok(Math.abs(got! - want) <= tol, `crop ${[x, y, w, h]} vs ${JSON.stringify(b)} (±${tol})`);
    await page.getByRole('button', { name: 'Delete crop 1' }).click();
    await page.getByRole('button', { name: 'Fit', exact: true }).click();
    assert.equal(await zoom(), 1);
  });

  it('the query panel resizes by its handle, from the keyboard and by drag, and keeps its width across a reload', async () => {
    const panel = page.locator('aside.query');
    const handle = page.getByTestId('query-resize');
    const width = async () => Math.round((await panel.boundingBox())!.width);
    const start = await width();
    await handle.focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await width(), start + 64);
    const box = (await handle.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 100);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 50, box.y + 100, { steps: 4 });
    await page.mouse.up();
    const dragged = await width();
    assert.ok(Math.abs(dragged - (start + 114)) <= 1, `dragged to ${dragged}, wanted ${start + 114}`);
    // The crop editor follows the column.
    assert.ok((await page.getByTestId('crop-stage').boundingBox())!.width > start - 40);
    await page.reload();
    await panel.waitFor();
    assert.equal(await width(), dragged, 'the width is remembered');
    await handle.focus();
    await page.keyboard.press('Escape');
    assert.equal(await width(), start, 'Escape returns to the default width');
  });

  let multiSearch = 0;
  it('a two-crop search shows one match box per crop in the loupe and in compare', async () => {
    await openQuery(scenes.objectScene);
    const b = scenes.objectBox;
    await drawCrop(b);
    await drawCrop({ x: 20, y: 20, w: 120, h: 90 });
    assert.equal(await page.getByTestId('crop-list').locator('li').count(), 2);
    multiSearch = await search();
    const divider = page.getByTestId('likely-divider');
    assert.equal(await divider.getAttribute('data-count'), '0');
    assert.match(await divider.innerText(), /several crops are not verified/);
    await page.getByRole('button', { name: /^Rank 1:/ }).hover();
    await page.getByTestId('loupe').waitFor();
    assert.equal(await page.getByTestId('loupe-box').count(), 2);
    await page.mouse.move(5, 600);
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('Enter');
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    assert.equal(await compare.getByTestId('match-box').count(), 2);
    const colours = await compare.getByTestId('match-box').evaluateAll((els) => els.map((e) => getComputedStyle(e).borderTopColor));
    assert.notEqual(colours[0], colours[1], 'each crop has its own colour');
    await page.keyboard.press('Escape');
    await compare.waitFor({ state: 'detached' });
  });

  it('the loupe closes when the keyboard moves the selection', async () => {
    await page.getByRole('button', { name: /^Rank 1:/ }).hover();
    await page.getByTestId('loupe').waitFor();
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('loupe').waitFor({ state: 'detached', timeout: 2000 });
    await page.mouse.move(5, 600);
  });

  it('pressing a tag key twice quickly leaves the image untagged', async () => {
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('1');
    await page.keyboard.press('1');
    await page.waitForFunction(() => !document.querySelector('[data-testid="busy"]')?.textContent?.includes('ag'));
    await page.getByTestId('notice').filter({ hasText: /Removed Same object/ }).waitFor();
    assert.equal(await page.getByTestId('result-tile').first().locator('.tag').count(), 0);
    assert.equal(await taggedBadge(), 0);
  });

  it('a note on an untagged hit is not counted or listed as tagged', async () => {
    await page.getByTestId('result-tile').nth(1).click();
    await page.getByLabel('Note').fill('looks like the same wallpaper');
    await page.getByLabel('Note').blur();
    await page.getByTestId('untagged-items').filter({ hasText: 'looks like the same wallpaper' }).waitFor();
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('2');
    await page.getByTestId('tagged-items').waitFor();
    assert.equal(await taggedBadge(), 1);
    assert.equal(await page.getByTestId('tagged-items').locator('li').count(), 1);
    assert.match(await page.locator('aside.case').innerText(), /Tagged in this case \(1\)/i);
  });

  it('exports a report that does not scroll sideways at 1280 px and lists the noted image apart', async () => {
    await page.getByRole('button', { name: 'Export HTML report' }).first().click();
    const reportPath = (await page.getByTestId('export-path').first().innerText()).trim();
    const report = await page.context().newPage();
    try {
      await report.setViewportSize({ width: 1280, height: 800 });
      await report.goto(pathToFileURL(reportPath).href);
      const { scroll, client } = await report.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(scroll <= client, `no horizontal scroll (${scroll} > ${client})`);
      assert.match(await report.locator('#noted').evaluate((h) => h.nextElementSibling?.textContent ?? ''), /looks like the same wallpaper/);
      assert.equal(await report.locator('svg rect').count(), 2, 'the tagged hit shows both crops\' boxes');
    } finally {
      await report.close();
    }
  });

  it('opening another photo marks the results stale and compare keeps the search\'s own query photo', async () => {
    const oldQuery = await page.getByTestId('crop-stage').locator('img').getAttribute('src');
    await openQuery(scenes.scenes[5]!);
    await page.getByTestId('results-stale').waitFor();
    assert.match(await page.getByTestId('results-stale').innerText(), new RegExp(`search #${multiSearch} of ${path.basename(scenes.objectScene).replace('.', '\\.')}`));
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('Enter');
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    const querySide = compare.locator('figure').first();
    assert.match(await querySide.getAttribute('aria-label') ?? '', new RegExp(path.basename(scenes.objectScene).replace('.', '\\.')));
    assert.equal(await querySide.locator('img').getAttribute('src'), oldQuery, 'the query side shows the searched photo, not the one opened since');
    await page.keyboard.press('Escape');
  });

  it('a reload brings back the query photo, its crops and the results on screen, stale marker included', async () => {
    await page.reload();
    const summary = page.getByTestId('results-summary');
    await summary.waitFor();
    assert.match(await summary.innerText(), new RegExp(`search #${multiSearch}\\b`));
    assert.equal(await page.getByTestId('result-tile').first().getAttribute('data-path'), scenes.objectScene);
    await page.getByTestId('results-stale').waitFor();
    assert.ok((await page.locator('aside.query').innerText()).includes(path.basename(scenes.scenes[5]!)), 'the photo opened last is back');

    await openQuery(scenes.objectScene);
    await drawCrop(scenes.objectBox);
    await drawCrop({ x: 20, y: 20, w: 120, h: 90 });
    assert.equal(await page.getByTestId('crop-list').locator('li').count(), 2);
    const fresh = await search();
    await page.reload();
    await summary.waitFor();
    assert.match(await summary.innerText(), new RegExp(`search #${fresh}\\b`));
    await page.getByTestId('crop-list').waitFor();
    assert.equal(await page.getByTestId('crop-list').locator('li').count(), 2);
    assert.equal(await page.getByTestId('results-stale').count(), 0, 'restored crops match the restored search');
  });

  it('History lists the newest search first', async () => {
    await search();
    await page.getByRole('navigation').getByRole('button', { name: /^History/ }).click();
    const ids = await page.getByTestId('history').locator('tbody tr td:first-child').allInnerTexts();
    const numbers = ids.map(Number);
    assert.ok(numbers.length >= 2);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => b - a));
  });

  it('tiles draw the matched regions; the Boxes toggle and the thumbnail size change the grid', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    const boxes = page.getByTestId('tile-box');
    await boxes.first().waitFor();
    assert.equal(await page.getByTestId('result-tile').first().getByTestId('tile-box').count(), 2, 'a two-crop hit shows both regions on its tile');
    await page.getByLabel('Boxes').uncheck();
    assert.equal(await boxes.count(), 0);
    await page.getByLabel('Boxes').check();
    const width = async () => (await page.getByTestId('result-tile').first().boundingBox())!.width;
    const medium = await width();
    await page.getByLabel('Thumbnail size').selectOption('large');
    await page.waitForFunction((w) => (document.querySelector('[data-testid="result-tile"]') as HTMLElement).getBoundingClientRect().width > w + 20, medium);
    await page.getByLabel('Thumbnail size').selectOption('medium');
  });

  it('the query photo, found in the catalog, is marked and can be hidden', async () => {
    const own = page.locator(`[data-testid="result-tile"][data-path="${scenes.objectScene}"]`);
    await own.getByTestId('query-copy').waitFor();
    await page.getByTestId('hide-query-copies').check();
    await own.waitFor({ state: 'detached' });
    await page.getByTestId('hide-query-copies').uncheck();
    await own.waitFor();
  });

  it('relevance feedback: a relevant and a not-relevant mark, then a feedback search that leaves the rejected image out', async () => {
    const tiles = page.getByTestId('result-tile');
    await tiles.nth(1).click();
    await page.keyboard.press('r');
    await tiles.nth(2).click();
    const rejected = await tiles.nth(2).getAttribute('data-path');
    await page.keyboard.press('x');
    await page.getByTestId('feedback-bar').filter({ hasText: '1 marked relevant · 1 not relevant' }).waitFor();
    const before = await page.getByTestId('results-summary').innerText();
    await page.getByRole('button', { name: 'Search again with feedback' }).click();
    await page.getByTestId('feedback-info').waitFor({ timeout: 120_000 });
    assert.notEqual(await page.getByTestId('results-summary').innerText(), before);
    assert.match(await page.getByTestId('feedback-info').innerText(), /1 confirmed region joined the query, 1 image left out/);
    assert.equal(await page.locator(`[data-testid="result-tile"][data-path="${rejected}"]`).count(), 0, 'the not-relevant image is gone');
  });

  it('"Search region" in compare makes the hit the query, cropped to its matched region', async () => {
    const tile = page.getByTestId('result-tile').nth(1);
    const hitPath = (await tile.getAttribute('data-path'))!;
    await tile.click();
    await page.keyboard.press('Enter');
    const before = await page.getByTestId('results-summary').innerText();
    await page.getByTestId('compare').getByRole('button', { name: 'Search region' }).click();
    await page.waitForFunction((prev) => (document.querySelector('[data-testid="results-summary"]') as HTMLElement | null)?.innerText !== prev, before, { timeout: 120_000 });
    assert.equal(await page.getByTestId('crop-list').locator('li').count(), 1);
    assert.ok((await page.locator('aside.query').innerText()).includes(path.basename(hitPath)));
    assert.equal(await page.getByTestId('results-stale').count(), 0);
  });

  it('a model pack imported in the app is installed, listed and recorded in the audit log', async () => {
    const source = path.join(tmp, 'usb', 'field-pack');
    makePack(source, 'field-pack');
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
    await page.getByLabel('Pack folder').fill(source);
    await page.getByRole('button', { name: 'Import pack' }).click();
    await page.getByTestId('notice').filter({ hasText: /Imported model pack Test/ }).waitFor();
    await page.getByRole('radio', { name: /^Test/ }).waitFor();
    assert.equal(await page.getByLabel('Pack folder').inputValue(), '', 'the form clears after an import');
    await fs.access(path.join(tmp, 'home', 'packs', 'field-pack', 'manifest.json'));
  });

  it('the examiner set in the UI signs what follows in the audit log, which verifies', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
    await page.getByLabel('Examiner').fill('E2E Examiner');
    await page.getByLabel('Examiner').press('Enter');
    await page.getByLabel('Examiner').blur();
    await page.waitForFunction(() => !document.querySelector('[data-testid="busy"]'));
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('2');
    await page.getByTestId('notice').filter({ hasText: /as Same room/ }).waitFor();
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'bin/quari.mjs'), 'audit', ...args, '--catalog', path.join(tmp, 'catalog.sqlite'), '--json']);
    const verified = JSON.parse((await cli('verify')).stdout);
    assert.equal(verified.ok, true);
    const records = JSON.parse((await cli('list', '--limit', '1000')).stdout) as { event: string; examiner: string; data: Record<string, unknown> }[];
    assert.equal(records[0]!.event, 'case.tagged');
    assert.equal(records[0]!.examiner, 'E2E Examiner');
    const events = new Set(records.map((r) => r.event));
    for (const e of ['catalog.opened', 'ingest.started', 'ingest.finished', 'search.run', 'relevance.marked', 'note.set', 'case.exported', 'case.untagged', 'pack.imported']) assert.ok(events.has(e), `${e} is in the log`);
    const imported = records.find((r) => r.event === 'pack.imported')!;
    assert.equal(imported.data.packId, 'field-pack');
    assert.equal(imported.data.source, path.join(tmp, 'usb', 'field-pack'));
    assert.ok(records.some((r) => r.event === 'catalog.opened' && r.data.client === 'web'));
  });

  it('at 1024×640 compare\'s controls, both panes, the case panel and History\'s Re-run are on screen', async () => {
    await page.setViewportSize({ width: 1024, height: 640 });
    await page.getByRole('navigation').getByRole('button', { name: /^History/ }).click();
    const inside = async (what: string, box: { x: number; y: number; width: number; height: number } | null) => {
      assert.ok(box, `${what} is rendered`);
      assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= 1024 + 0.5 && box.y + box.height <= 640 + 0.5, `${what} lies inside 1024×640: ${JSON.stringify(box)}`);
    };
    const reRun = page.getByRole('button', { name: 'Re-run' }).first();
    await reRun.scrollIntoViewIfNeeded();
    await inside('History Re-run', await reRun.boundingBox());
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > 1024.5 && !el.closest('.history'))
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
    );
    assert.deepEqual(wide, [], 'nothing outside the scrolling history table is wider than the window');
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 1024), true, 'no page-wide horizontal scroll');

    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    await inside('case panel', await page.locator('aside.case').boundingBox());
    await page.getByTestId('result-tile').first().click();
    await page.keyboard.press('Enter');
    const compare = page.getByTestId('compare');
    await compare.waitFor();
    for (const name of ['Close', 'Previous result', 'Next result', 'Fit']) await inside(name, await compare.getByRole('button', { name: new RegExp(`^${name}`) }).boundingBox());
    const panes = compare.locator('.viewport');
    for (let i = 0; i < 2; i++) await inside(`compare pane ${i + 1}`, await panes.nth(i).boundingBox());
    await page.keyboard.press('Escape');
    assert.deepEqual(pageErrors, []);
  });

  it('the web host without --catalog opens catalogs/default.quari in the data home, not in the current folder', async () => {
    const home = path.join(tmp, 'fresh-home');
    const cwd = path.join(tmp, 'cwd');
    await fs.mkdir(cwd);
    const env: NodeJS.ProcessEnv = { ...process.env, QUARI_HOME: home };
    delete env.QUARI_CATALOG;
    // tsx resolved from the checkout: the child runs in an empty folder.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(REPO_ROOT, 'electron/web/main.ts'), '--port', '0'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const stderr = await new Promise<string>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no "serving" line: ${text}`)), 120_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the web host exited (${code}): ${text}`));
        });
        child.stderr!.on('data', (d: Buffer) => {
          text += d.toString();
          if (/serving .* on 127\.0\.0\.1/.test(text)) {
            clearTimeout(timer);
            resolve(text);
          }
        });
      });
      assert.ok(stderr.includes(path.join(home, 'catalogs', 'default.quari')), stderr);
      assert.deepEqual(await fs.readdir(cwd), [], 'nothing is created in the current folder');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
  });
});
