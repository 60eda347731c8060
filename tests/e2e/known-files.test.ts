// The Catalog view's known-files control against the real host and Chromium: importing a VICS set by path shows
// the set, its matches and the catalog's ignorable / of-interest / unknown counts; a malformed list shows its
// line in the error banner and adds nothing; a 3M-hash list shows its progress bar (records, share read) and
// Cancel leaves nothing; in the Cases view, "leave out known-ignorable files" drops the file an ignorable set
// holds from the JSON report (which says how many) and disables the VICS export, which the API refuses it for.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { openCatalog } from '../../db/CatalogStore.ts';
import { writeVicsFile } from '../../bench/hashset-files.ts';
import { closeSync, openSync, writeSync } from 'node:fs';
import { closeUi, openUi, type UiSession } from './support/session.ts';

describe('known files in the Catalog view', { timeout: 300_000 }, () => {
  let tmp: string;
  let ui: UiSession | undefined;
  let page: Page;
  const hashes = [0, 1, 2].map(() => ({ md5: randomBytes(16).toString('hex'), sha1: randomBytes(20).toString('hex'), sha256: randomBytes(32).toString('hex') }));

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-known-'));
    const catalogPath = path.join(tmp, 'catalog.sqlite');
    const store = openCatalog(catalogPath);
    hashes.forEach((h, n) =>
      store.commitIngestedImage({ path: path.join(tmp, 'ev', `${n}.jpg`), size: 100 + n, mtimeMs: 1, meta: { ...h, width: 10, height: 10, format: 'jpeg' }, embeddings: [] }),
    );
    const kase = store.createCase({ name: 'Known export', categories: ['CAM'] });
    const ids = store.listImages({ limit: 10 }).map((i) => i.id);
    for (const imageId of ids.slice(1)) store.tagImage({ caseId: kase.id, imageId, categoryId: store.listCategories(kase.id)[0]!.id });
    store.close();
    ui = await openUi(tmp, { catalogPath });
    page = ui.page;
    await page.getByRole('navigation').getByRole('button', { name: /^Catalog/ }).click();
  });

  after(() => closeUi(ui, tmp));

  it('imports a VICS set by path and counts the known images', async () => {
    const vics = path.join(tmp, 'project-vic.json');
    writeVicsFile(vics, [{ md5: hashes[0]!.md5, sha1: hashes[0]!.sha1, category: 1 }, { sha1: hashes[1]!.sha1, category: 2 }]);
    await page.getByTestId('hashset-path').fill(vics);
    await page.getByTestId('hashset-import').click();
    await page.getByRole('cell', { name: 'project-vic.json' }).waitFor();
    assert.equal(await page.getByTestId('known-of-interest').innerText(), '2');
    assert.equal(await page.getByTestId('known-unknown').innerText(), '1');
    assert.equal(await page.getByTestId('known-ignorable').innerText(), '0');
  });

  it('shows a malformed list\'s line in the error banner and imports nothing', async () => {
    const bad = path.join(tmp, 'bad.txt');
    await fs.writeFile(bad, `${hashes[2]!.md5}\nzzzz\n`);
    await page.getByTestId('hashset-path').fill(bad);
    await page.getByTestId('hashset-import').click();
    await page.getByText(/bad\.txt: line 2: 'zzzz' is not a hex MD5/).waitFor();
    assert.equal(await page.getByRole('cell', { name: 'bad.txt' }).count(), 0);
    assert.equal(await page.getByTestId('known-unknown').innerText(), '1');
  });

  it('shows a large import\'s progress and cancels it, leaving nothing', async () => {
    const big = path.join(tmp, 'big.txt');
    const fd = openSync(big, 'w');
    for (let block = 0; block < 100; block++) {
      writeSync(fd, Array.from({ length: 30_000 }, () => randomBytes(16).toString('hex')).join('\n') + '\n');
    }
    closeSync(fd);
    await page.getByTestId('hashset-path').fill(big);
    await page.getByTestId('hashset-import').click();
    const panel = page.getByTestId('hashset-progress');
    await panel.and(page.locator('[data-state="reading"]')).waitFor();
    await page.getByRole('progressbar', { name: 'Hash-set import progress' }).waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="hashset-records"]')?.textContent?.replace(/\D/g, '') ?? 0) > 0);
    await page.getByTestId('hashset-cancel').click();
    await panel.and(page.locator('[data-state="cancelled"]')).waitFor();
    assert.match(await panel.innerText(), /Import cancelled, nothing imported/);
    assert.equal(await page.getByRole('cell', { name: 'big.txt' }).count(), 0);
    assert.equal(await page.getByTestId('known-unknown').innerText(), '1');
  });

  it('leaves known-ignorable files out of a case report when asked, and disables VICS then', async () => {
    const os_ = path.join(tmp, 'os-files.txt');
    await fs.writeFile(os_, `${hashes[2]!.sha1}\n`);
    await page.getByTestId('hashset-path').fill(os_);
    await page.getByLabel('Kind of set').selectOption('ignorable');
    await page.getByTestId('hashset-import').click();
    await page.getByRole('cell', { name: 'os-files.txt' }).waitFor();
    assert.equal(await page.getByTestId('known-ignorable').innerText(), '1');

    await page.getByRole('navigation').getByRole('button', { name: /^Cases/ }).click();
    await page.getByRole('button', { name: /Known export/ }).click();
    await page.getByRole('heading', { name: 'Known export' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Export VICS JSON' }).isDisabled(), false);
    await page.getByTestId('export-hide-known-ignorable').check();
    assert.equal(await page.getByRole('button', { name: 'Export VICS JSON' }).isDisabled(), true);
    await page.getByRole('button', { name: 'Export JSON' }).click();
    await page.getByTestId('export-path').waitFor();
    const report = JSON.parse(await fs.readFile((await page.getByTestId('export-path').innerText()).trim(), 'utf8')) as {
      items: { path: string }[];
      knownIgnorableLeftOut: number;
    };
    assert.equal(report.knownIgnorableLeftOut, 1);
    assert.deepEqual(report.items.map((i) => path.basename(i.path)), ['1.jpg']);
  });
});
