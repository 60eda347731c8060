// Ways a query image gets in (drop, paste, file input) and crop editing from the keyboard, against the real host
// with an empty catalog: query images do not need an indexed catalog.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { closeUi, openUi, type UiSession } from './support/session.ts';

async function cropText(page: Page): Promise<number[]> {
  const text = await page.getByTestId('crop-list').locator('li').first().innerText();
  const m = /(\d+)×(\d+) at (\d+),(\d+)/.exec(text);
  assert.ok(m, text);
  return m.slice(1).map(Number);
}

describe('query input and crop editing', { timeout: 300_000 }, () => {
  let tmp: string;
  let ui: UiSession | undefined;
  let page: Page;
  let png: Buffer;
  const pageErrors: string[] = [];

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quari-query-'));
    ui = await openUi(tmp, { pageErrors, consoleErrors: true });
    page = ui.page;
    png = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#3b6ea5' } }).png().toBuffer();
    await page.getByRole('navigation').getByRole('button', { name: /^Search/ }).click();
  });

  after(() => closeUi(ui, tmp));

  it('says what to do before a query is open', async () => {
    await page.getByRole('heading', { name: 'Open a query image' }).waitFor();
  });

  it('opens a dropped image', async () => {
    const dataTransfer = await page.evaluateHandle((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      return dt;
    }, png.toString('base64'));
    await page.dispatchEvent('aside.query', 'drop', { dataTransfer });
    await page.getByText('dropped.png').waitFor();
    await page.getByText('800 × 600 px').waitFor();
  });

  it('opens a pasted image', async () => {
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
      window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, png.toString('base64'));
    await page.getByText('pasted.png').waitFor();
  });

  it('refuses a file that is not an image, saying why', async () => {
    await page.getByTestId('query-file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await page.getByTestId('error').filter({ hasText: 'notes.txt is not an image file' }).waitFor();
    await page.getByRole('button', { name: 'Dismiss error' }).click();
  });

  it('draws, nudges, resizes and deletes crops in image pixels', async () => {
    const img = page.getByTestId('crop-stage').locator('img');
    await page.waitForFunction(() => (document.querySelector('[data-testid="crop-stage"] img') as HTMLImageElement | null)?.complete === true);
    const r = (await img.boundingBox())!;
    const s = r.width / 800;
    await page.mouse.move(r.x + 100 * s, r.y + 100 * s);
    await page.mouse.down();
    await page.mouse.move(r.x + 300 * s, r.y + 250 * s, { steps: 4 });
    await page.mouse.up();
    const [w, h, x, y] = await cropText(page);
    const tol = Math.ceil(1 / s) + 1;
    assert.ok(Math.abs(x - 100) <= tol && Math.abs(y - 100) <= tol && Math.abs(w - 200) <= tol && Math.abs(h - 150) <= tol, `${w}×${h} at ${x},${y}`);

    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Shift+ArrowDown');
    assert.deepEqual(await cropText(page), [w, h, x + 1, y + 10], 'arrows nudge by 1 px, Shift by 10');

    // Drag the south-east handle outwards by 50 image pixels.
    const handle = (await page.locator('.handle.se').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(handle.x + handle.width / 2 + 50 * s, handle.y + handle.height / 2 + 50 * s, { steps: 4 });
    await page.mouse.up();
    const [w2, h2, x2, y2] = await cropText(page);
    assert.deepEqual([x2, y2], [x + 1, y + 10], 'resizing from the south-east corner keeps the origin');
    assert.ok(Math.abs(w2 - (w + 50)) <= tol && Math.abs(h2 - (h + 50)) <= tol, `${w2}×${h2}`);

    await page.keyboard.press('Delete');
    await page.getByText('No crop: the whole image is the query').waitFor();
  });

  it('raised no page errors or CSP violations', () => {
    assert.deepEqual(pageErrors, []);
  });
});
