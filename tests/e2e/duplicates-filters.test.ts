// Duplicate stacks, the image panel and the search filters through the real UI, the real web host and a real
// catalog: generated photos with byte-identical, recompressed, downsized and cropped copies plus one photo with
// EXIF (camera, capture time, GPS) are ingested in the browser; a search shows the copies as one stack under its
// best-ranked member; the filters narrow the search itself; the Duplicates view lists stacks per tier and tags a
// whole stack, each tag recording that it came from the stack; hash sets imported in the Catalog view badge the
// results and the known-file filter hides them; compare shows the image panel; the catalog browser, once the
// catalog holds more than a page of images, keeps only the rows in view in the DOM and moves its choice by keyboard.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { makeDuplicateSet, type DuplicateFile } from '../../bench/duplicate-set.ts';
import { cameraJpeg, photoLikeJpeg } from '../../bench/ingest-photos.ts';
import { closeUi, openUi, type UiSession } from './support/session.ts';

describe('duplicate stacks, image panel and filters in the browser', { timeout: 600_000 }, () => {
  let tmp: string;
  let evidence: string;
  let files: DuplicateFile[];
  let canon: string;
  let ui: UiSession | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  const tiles = () => page.getByTestId('result-tile');
  const tilePaths = () => tiles().evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!));
  const search = async () => {
    const before = await page.getByTestId('results-summary').innerText().catch(() => '');
    await page.getByRole('button', { name: /^Search/ }).last().click();
    await page.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid="results-summary"]') as HTMLElement | null;
      return !!el && el.innerText !== prev && /search #\d+/.test(el.innerText);
    }, before, { timeout: 120_000 });
  };

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-e2e-dupes-'));
    evidence = path.join(tmp, 'evidence');
    files = await makeDuplicateSet(evidence, { originals: 4, withCopies: 1, width: 640, height: 480 });
    canon = path.join(evidence, 'camera', 'canon.jpg');
    await fs.mkdir(path.dirname(canon));
    await fs.writeFile(canon, await cameraJpeg());
    ui = await openUi(tmp, { pageErrors, consoleErrors: true });
    page = ui.page;
  });

  after(() => closeUi(ui, tmp));

  it('ingests the folder and creates a case', async () => {
    await page.getByLabel('Folder path').fill(evidence);
    await page.getByRole('button', { name: 'Ingest folder' }).click();
    await page.locator('[data-testid="ingest-status"][data-state="done"]').waitFor({ timeout: 300_000 });
    await page.getByTestId('total-indexed').filter({ hasText: new RegExp(`^${files.length + 1}$`) }).waitFor();
    await page.getByRole('navigation').getByRole('button', { name: /^Cases/ }).click();
    await page.getByLabel('Name').fill('Copies');
    await page.getByLabel(/Categories/).fill('Same photo, Other');
    await page.getByRole('button', { name: 'Create case' }).click();
    await page.getByRole('heading', { name: 'Copies' }).waitFor();
  });

  it('shows the copies of the query photo as one stack under its best-ranked member, with count and tier', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    const original = files.find((f) => f.group === 0 && f.kind === null)!.path;
    await page.getByTestId('query-file').setInputFiles(original);
    await page.getByTestId('crop-stage').locator('img').waitFor();
    await search();
    const copies = new Set(files.filter((f) => f.group === 0).map((f) => f.path));
    const paths = await tilePaths();
    assert.ok(copies.has(paths[0]!), `rank 1 is a copy of the query photo: ${paths[0]}`);
    assert.equal(paths.filter((p) => copies.has(p)).length, 1, `the other copies are folded: ${paths.join(', ')}`);
    const badge = tiles().first().getByTestId('stack-badge');
    assert.equal(await badge.getAttribute('data-tier'), 'perceptual');
    assert.ok(Number(await badge.getAttribute('data-size')) >= 4, 'the stack counts the original, its byte copy, the recompressed and the resized copy');
    assert.match(await badge.innerText(), /×\d+ perceptual/);

    // Without stacking every copy is a hit of its own.
    await page.getByTestId('search-filters').locator('summary').click();
    await page.getByLabel('Stack duplicates').selectOption('none');
    await search();
    assert.ok((await tilePaths()).filter((p) => copies.has(p)).length >= 4);
    assert.equal(await page.getByTestId('stack-badge').count(), 0);
    await page.getByLabel('Stack duplicates').selectOption('perceptual');
  });

  it('filters inside the search: GPS, camera, capture date and folder', async () => {
    await page.getByLabel('GPS').selectOption('with');
    await search();
    assert.deepEqual(await tilePaths(), [canon]);
    assert.equal(await page.getByTestId('filter-count').innerText(), '1');
    await page.getByLabel('GPS').selectOption('any');

    await page.getByLabel('Camera make').fill('canon');
    await page.getByLabel('Captured from').fill('2024-05-03');
    await page.getByLabel('Captured to').fill('2024-05-03');
    await search();
    assert.deepEqual(await tilePaths(), [canon]);
    await page.getByLabel('Captured from').fill('2024-05-04');
    await search();
    assert.deepEqual(await tilePaths(), [], 'a day after the capture date nothing matches');
    await page.getByRole('button', { name: 'Clear filters' }).click();

    const copiesDir = path.join(evidence, 'copies');
    await page.getByLabel('Folder prefix').fill(copiesDir);
    await page.getByLabel('Stack duplicates').selectOption('none');
    await search();
    const paths = await tilePaths();
    assert.ok(paths.length >= 3 && paths.every((p) => p.startsWith(copiesDir + path.sep)), `only the copies folder: ${paths.join(', ')}`);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Stack duplicates').selectOption('perceptual');
  });

  it('imports hash sets in the Catalog view; results badge known files and the known-file filter hides them', async () => {
    const sha = async (file: string) => createHash('sha256').update(await fs.readFile(file)).digest('hex');
    const distinct = files.find((f) => f.group === 1 && f.kind === null)!.path;
    const importSet = async (name: string, hashes: string[], kind: 'ignorable' | 'of-interest') => {
      const file = path.join(tmp, name);
      await fs.writeFile(file, hashes.join('\n') + '\n');
      await page.getByTestId('hashset-path').fill(file);
      await page.getByLabel('Kind of set').selectOption(kind);
      await page.getByTestId('hashset-import').click();
      await page.getByRole('cell', { name }).waitFor();
    };
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
    await importSet('flagged.txt', [await sha(canon)], 'of-interest');
    await importSet('os-files.txt', [await sha(distinct)], 'ignorable');
    assert.equal(await page.getByTestId('known-of-interest').innerText(), '1');
    assert.equal(await page.getByTestId('known-ignorable').innerText(), '1');

    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
    await page.getByLabel('Stack duplicates').selectOption('none');
    await search();
    const badge = (file: string) => page.locator(`[data-testid="result-tile"][data-path="${file}"]`).getByTestId('known-badge');
    assert.equal(await badge(canon).getAttribute('data-kind'), 'of-interest');
    assert.equal(await badge(distinct).getAttribute('data-kind'), 'ignorable');
    assert.equal(await badge(files[0]!.path).count(), 0, 'an unknown file has no badge');

    await page.getByLabel('Known files').selectOption('not-ignorable');
    await search();
    let paths = await tilePaths();
    assert.ok(paths.includes(canon) && !paths.includes(distinct), `known-ignorable hidden: ${paths.join(', ')}`);
    await page.getByLabel('Known files').selectOption('unknown');
    await search();
    paths = await tilePaths();
    assert.ok(!paths.includes(canon) && !paths.includes(distinct) && paths.length === files.length - 1, `only unknown files: ${paths.join(', ')}`);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Stack duplicates').selectOption('perceptual');
  });

  it('browses the catalog with the same filters: known-ignorable hidden, badges, the image panel', async () => {
    const distinct = files.find((f) => f.group === 1 && f.kind === null)!.path;
    await page.getByRole('navigation').getByRole('button', { name: /^Browse/ }).click();
    await page.getByTestId('browse-total').filter({ hasText: `${files.length + 1} images` }).waitFor();
    await page.getByLabel('Known files').selectOption('not-ignorable');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByTestId('browse-total').filter({ hasText: new RegExp(`^${files.length} images$`) }).waitFor();
    const paths = await page.getByTestId('browse-image').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
    assert.ok(!paths.includes(distinct) && paths.includes(canon));
    const cell = page.locator(`[data-testid="browse-image"][data-path="${canon}"]`);
    assert.equal(await cell.getByTestId('known-badge').getAttribute('data-kind'), 'of-interest');
    await cell.click();
    await page.getByTestId('image-panel').getByTestId('panel-camera').filter({ hasText: 'Canon EOS 5D' }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
  });

  it('shows the image panel in compare: hashes, capture time, camera, GPS and known sets', async () => {
    await page.getByLabel('Camera make').fill('Canon');
    await search();
    await tiles().first().dblclick();
    const panel = page.getByTestId('compare').getByTestId('image-panel');
    await panel.getByTestId('panel-camera').filter({ hasText: 'Canon EOS 5D' }).waitFor();
    assert.equal(await panel.getByTestId('panel-captured').innerText(), '2024-05-03T10:11:12');
    assert.equal(await panel.getByTestId('panel-gps').innerText(), '51.500000, -0.125000');
    assert.match(await panel.getByTestId('panel-sha256').innerText(), /^[0-9a-f]{64}$/);
    assert.match(await panel.getByTestId('panel-known').innerText(), /flagged\.txt · of-interest/);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Clear filters' }).click();
  });

  it('lists stacks per tier in the Duplicates view and tags a whole stack, recorded as a stack tag', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Duplicates/ }).click();
    await page.getByTestId('tier-count-exact').filter({ hasText: /^1$/ }).waitFor();
    const stack = page.getByTestId('dup-stack').first();
    await stack.waitFor();
    const size = Number(await stack.getAttribute('data-size'));
    assert.ok(size >= 4);
    assert.equal(await stack.getByTestId('dup-member').count(), size);
    await page.locator('label', { has: page.getByRole('radio', { name: /Identical bytes/ }) }).click();
    await page.locator('[data-testid="dup-stack"][data-tier="exact"]').waitFor();
    assert.equal(await page.getByTestId('dup-stack').count(), 1);
    assert.equal(await page.getByTestId('dup-stack').first().getByTestId('dup-member').count(), 2, 'the original and its byte copy');

    await page.locator('label', { has: page.getByRole('radio', { name: /Near-duplicate/ }) }).click();
    await page.locator('[data-testid="dup-stack"][data-tier="perceptual"]').first().getByTestId('dup-member').first().click();
    const panel = page.getByTestId('image-panel');
    await panel.getByTestId('panel-stacks').waitFor();
    await panel.locator('[data-tier="perceptual"]').getByTestId('tag-stack').filter({ hasText: 'Same photo' }).click();
    await page.getByTestId('notice').filter({ hasText: `(${size} images) as Same photo` }).waitFor();

    await page.getByRole('navigation').getByRole('button', { name: /^Cases/ }).click();
    const items = page.getByTestId('tagged-items').locator('li');
    await page.getByTestId('tagged-items').waitFor();
    assert.equal(await items.count(), size, 'every member of the stack is tagged');
    const text = await page.getByTestId('tagged-items').innerText();
    assert.match(text, /perceptual stack/, `each tag says it came from a stack: ${text}`);
  });

  it('searches from an image chosen in the catalog browser', async () => {
    await page.getByRole('navigation').getByRole('button', { name: /^Browse/ }).click();
    await page.locator(`[data-testid="browse-image"][data-path="${canon}"]`).click();
    await page.getByRole('button', { name: 'Search from this image' }).click();
    const summary = page.getByTestId('results-summary');
    await summary.waitFor({ timeout: 120_000 });
    await page.waitForFunction((name) => (document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null)?.alt.endsWith(name), path.basename(canon));
    assert.ok((await page.locator('aside.query').innerText()).includes(path.basename(canon)));
    assert.ok((await page.getByTestId('result-tile').count()) > 0);
    assert.deepEqual(pageErrors, []);
  });

  it('browses a catalog of more than a page as a virtual grid: rows in view only, the last image reachable, arrows and Enter', async () => {
    // 240 more small photos: past the browser's 200-image page, so the end of the list is a second request.
    const many = path.join(tmp, 'many');
    await fs.mkdir(many);
    for (let i = 0; i < 240; i++) await fs.writeFile(path.join(many, `p${String(i).padStart(3, '0')}.jpg`), await photoLikeJpeg(7000 + i, 96, 72, 80));
    const total = files.length + 1 + 240;
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
    await page.getByLabel('Folder path').fill(many);
    await page.getByRole('button', { name: 'Ingest folder' }).click();
    await page.getByTestId('total-indexed').filter({ hasText: new RegExp(`^${total}$`) }).waitFor({ timeout: 300_000 });

    await page.getByRole('navigation').getByRole('button', { name: /^Browse/ }).click();
    await page.getByTestId('browse-total').filter({ hasText: `${total} images` }).waitFor();
    const grid = page.getByTestId('browse-grid');
    const cells = grid.locator('.cell');
    await grid.locator('[data-testid="browse-image"][data-index="0"]').waitFor();
    const inDom = await cells.count();
    assert.ok(inDom > 0 && inDom < total / 4, `only the rows in view are in the DOM: ${inDom} tiles of ${total}`);

    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
    const last = grid.locator(`[data-testid="browse-image"][data-index="${total - 1}"]`);
    await last.waitFor();
    assert.ok((await last.getAttribute('data-path'))!.startsWith(many + path.sep), 'the last catalogued image is one of the latest ingest');
    assert.ok((await cells.count()) < total / 4, 'scrolled to the end, the first rows have left the DOM');
    assert.equal(await grid.locator('[data-index="0"]').count(), 0);

    // Home chooses the first image and scrolls back to it; the arrows move the choice, the panel follows.
    await grid.focus();
    await page.keyboard.press('Home');
    const chosen = grid.locator('[data-chosen="true"]');
    await grid.locator('[data-index="0"][data-chosen="true"]').waitFor();
    await page.keyboard.press('ArrowRight');
    await grid.locator('[data-index="1"][data-chosen="true"]').waitFor();
    assert.equal(await chosen.count(), 1);
    const row0 = (await grid.locator('[data-index="1"]').boundingBox())!.y;
    await page.keyboard.press('ArrowDown');
    const below = chosen.first();
    await page.waitForFunction(() => Number(document.querySelector('[data-chosen="true"]')?.getAttribute('data-index')) > 1);
    assert.ok((await below.boundingBox())!.y > row0, 'ArrowDown moves to the next row');
    await page.keyboard.press('End');
    await last.and(chosen).waitFor();
    assert.ok(await last.isVisible(), 'the chosen image is scrolled into view');
    const lastPath = (await last.getAttribute('data-path'))!;
    await page.getByTestId('image-panel').filter({ hasText: path.basename(lastPath) }).waitFor();

    await page.keyboard.press('Enter');
    await page.getByTestId('results-summary').waitFor({ timeout: 120_000 });
    await page.waitForFunction((name) => (document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null)?.alt.endsWith(name), path.basename(lastPath));
    assert.deepEqual(pageErrors, []);
  });
});
