// The renderer's pure logic: crop geometry in image pixels, grid virtualisation, on-demand pages of a long list, zoom/pan, the wire encoding
// shared with the web host, and the host's media-URL rewriting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boxFromCorners, expandBox, matchLabel, moveBox, quadPoints, resizeBox, roundBox, toImagePoint } from '../../renderer/src/lib/geometry.ts';
import { bandTop, gridMetrics, itemPosition, scrollToReveal, stepSelection, visibleRange } from '../../renderer/src/lib/virtualGrid.ts';
import { likelyMatches } from '../../renderer/src/lib/confidence.ts';
import { LIKELY_MIN_INLIERS, likelyMatchCount } from '../../electron/shared/likelyMatches.ts';
import { PagedList, type ListPage } from '../../renderer/src/lib/pagedList.ts';
import type { SearchHit, VerificationStatus } from '../../electron/shared/api.ts';
import { paneTransform, resetZoom, zoomAt } from '../../renderer/src/lib/zoom.ts';
import { base64ToBytes, bytesToBase64, decodeWire, encodeWire } from '../../electron/shared/protocol/wire.ts';
import { createWebSession } from '../../electron/web/host.ts';

describe('crop geometry', () => {
  it('maps pointer positions on a scaled image to image pixels, clamped to the image', () => {
    const rect = { left: 100, top: 50, width: 320, height: 240 };
    assert.deepEqual(toImagePoint({ x: 260, y: 170 }, rect, 640, 480), { x: 320, y: 240 });
    assert.deepEqual(toImagePoint({ x: 0, y: 1000 }, rect, 640, 480), { x: 0, y: 480 });
  });

  it('builds boxes from corners dragged in any direction', () => {
    assert.deepEqual(boxFromCorners({ x: 50, y: 40 }, { x: 10, y: 90 }), { x: 10, y: 40, w: 40, h: 50 });
  });

  it('moves without leaving the image', () => {
    assert.deepEqual(moveBox({ x: 10, y: 10, w: 100, h: 50 }, 1000, -1000, 640, 480), { x: 540, y: 0, w: 100, h: 50 });
  });

  it('resizes from a handle, never inverting below the minimum size', () => {
    const box = { x: 100, y: 100, w: 50, h: 50 };
    assert.deepEqual(resizeBox(box, 'se', 20, 10, 640, 480), { x: 100, y: 100, w: 70, h: 60 });
    assert.deepEqual(resizeBox(box, 'nw', 500, 500, 640, 480, 8), { x: 142, y: 142, w: 8, h: 8 });
    assert.deepEqual(resizeBox(box, 'w', -500, 0, 640, 480), { x: 0, y: 100, w: 150, h: 50 });
  });

  it('rounds to whole pixels inside the image', () => {
    assert.deepEqual(roundBox({ x: 630.6, y: -3, w: 40, h: 10.4 }, 640, 480), { x: 631, y: 0, w: 9, h: 10 });
  });

  it('expands around the centre and stays inside', () => {
    assert.deepEqual(expandBox({ x: 0, y: 0, w: 100, h: 100 }, 2, 640, 480), { x: 0, y: 0, w: 200, h: 200 });
  });
});

describe('virtual grid', () => {
  it('renders only the rows in view plus overscan', () => {
    const m = gridMetrics(10_000, 700, 160, 180, 10);
    assert.equal(m.columns, 4);
    assert.equal(m.rows, 2500);
    const r = visibleRange(10_000, m.columns, 180, 18_000, 600, 2);
    assert.deepEqual(r, { start: 98 * 4, end: 106 * 4 });
    assert.ok(r.end - r.start < 50);
  });

  it('scrolls just enough to reveal the selection', () => {
    assert.equal(scrollToReveal(0, 4, 180, 500, 600), 0);
    assert.equal(scrollToReveal(20, 4, 180, 0, 600), 5 * 180 + 180 - 600);
    assert.equal(scrollToReveal(5, 4, 180, 100, 600), 100);
  });

  it('a band after the first items starts the rest on a new row below it', () => {
    const band = { after: 6, height: 40 };
    const m = gridMetrics(20, 700, 160, 180, 10, band);
    assert.equal(m.columns, 4);
    assert.equal(m.rows, 2 + 4, 'six items fill two rows above the band, fourteen four rows below');
    assert.equal(m.totalHeight, 6 * 180 + 40);
    assert.equal(bandTop(4, 180, band), 2 * 180);
    assert.deepEqual(itemPosition(5, 4, 180, band), { row: 1, column: 1, top: 180 });
    assert.deepEqual(itemPosition(6, 4, 180, band), { row: 2, column: 0, top: 2 * 180 + 40 });
    assert.deepEqual(itemPosition(11, 4, 180, band), { row: 3, column: 1, top: 3 * 180 + 40 });
    // Scrolled to the row after the band: items from index 6 + 4 on are in view, minus one overscan row.
    assert.deepEqual(visibleRange(20, 4, 180, 3 * 180 + 40, 180, 1, band), { start: 6, end: 18 });
    assert.equal(scrollToReveal(6, 4, 180, 0, 300, band), 2 * 180 + 40 + 180 - 300);
    // A band above every item (no likely match) shifts them all.
    assert.deepEqual(itemPosition(0, 4, 180, { after: 0, height: 40 }), { row: 0, column: 0, top: 40 });
  });

  it('moves the selection by arrows and stops at the edges', () => {
    assert.equal(stepSelection(5, 'ArrowDown', 4, 10), 9);
    assert.equal(stepSelection(9, 'ArrowDown', 4, 10), 9);
    assert.equal(stepSelection(0, 'ArrowLeft', 4, 10), 0);
    assert.equal(stepSelection(-1, 'ArrowRight', 4, 10), 0);
    assert.equal(stepSelection(3, 'End', 4, 10), 9);
  });
});

describe('paged list (the catalog browser)', () => {
  /** A list of `total` numbers whose page requests are answered only when the test says so. */
  function fakeList(total: number, options = { pageSize: 10, maxInFlight: 2, maxPages: 4 }) {
    const calls: { offset: number; limit: number; answer: (ok?: boolean) => Promise<void> }[] = [];
    let changes = 0;
    const list = new PagedList<number>(
      (offset, limit) =>
        new Promise<ListPage<number> | undefined>((resolve) => {
          calls.push({
            offset,
            limit,
            answer: async (ok = true) => {
              resolve(ok ? { total, items: Array.from({ length: Math.max(0, Math.min(limit, total - offset)) }, (_, i) => offset + i) } : undefined);
              await new Promise((r) => setImmediate(r));
            },
          });
        }),
      () => changes++,
      options,
    );
    return { list, calls, changes: () => changes };
  }

  it('fetches the first page to learn the total, then only the pages of the rows in view', async () => {
    const { list, calls } = fakeList(1000);
    list.want(0, 0);
    assert.deepEqual(calls.map((c) => c.offset), [0]);
    await calls[0]!.answer();
    assert.equal(list.total, 1000);
    assert.equal(list.at(7), 7);
    assert.equal(list.at(10), undefined);
    list.want(500, 525);
    assert.deepEqual(calls.map((c) => c.offset), [0, 500, 510], 'pages 50 and 51, not the 48 scrolled past');
  });

  it('never asks twice for a page, and keeps at most maxInFlight requests out', async () => {
    const { list, calls } = fakeList(1000);
    list.want(0, 1);
    await calls[0]!.answer();
    list.want(0, 40);
    list.want(0, 40);
    assert.deepEqual(calls.map((c) => c.offset), [0, 10, 20], 'page 0 cached; pages 1 and 2 out, page 3 waits');
    await calls[1]!.answer();
    assert.deepEqual(calls.map((c) => c.offset), [0, 10, 20, 30], 'a freed slot takes the waiting page');
    list.want(0, 40);
    assert.equal(calls.length, 4);
  });

  it('forgets the waiting pages of a view scrolled past', async () => {
    const { list, calls } = fakeList(1000);
    list.want(0, 1);
    await calls[0]!.answer();
    list.want(100, 140);
    list.want(900, 910);
    await calls[1]!.answer();
    await calls[2]!.answer();
    assert.deepEqual(calls.map((c) => c.offset), [0, 100, 110, 900]);
  });

  it('drops the least recently shown pages past the cap and fetches them again when shown', async () => {
    const { list, calls } = fakeList(1000);
    for (const p of [0, 1, 2, 3, 4]) {
      list.want(p * 10, p * 10 + 1);
      await calls.at(-1)!.answer();
    }
    assert.equal(list.at(5), undefined, 'page 0 dropped for page 4');
    assert.equal(list.at(15), 15);
    list.want(0, 1);
    assert.equal(calls.at(-1)!.offset, 0);
  });

  it('a reset ignores answers from before it, yet counts their requests against the bound', async () => {
    const { list, calls, changes } = fakeList(1000);
    list.want(0, 20);
    assert.equal(calls.length, 2);
    list.reset();
    list.want(0, 20);
    assert.equal(calls.length, 2, 'both slots still held by the stale requests');
    await calls[0]!.answer();
    assert.equal(list.at(0), undefined, 'a stale answer is not cached');
    assert.equal(changes(), 0);
    assert.deepEqual(calls.map((c) => c.offset), [0, 10, 0]);
    await calls[2]!.answer();
    assert.equal(list.at(0), 0);
    assert.equal(list.total, 1000);
  });

  it('asks again for a page whose request failed, when it is next in view', async () => {
    const { list, calls } = fakeList(1000);
    list.want(0, 1);
    await calls[0]!.answer(false);
    assert.equal(list.loaded, false);
    list.want(0, 1);
    assert.deepEqual(calls.map((c) => c.offset), [0, 0]);
  });

  it('does not ask past the end of the list', async () => {
    const { list, calls } = fakeList(25);
    list.want(0, 1);
    await calls[0]!.answer();
    list.want(0, 1000);
    assert.deepEqual(calls.map((c) => c.offset), [0, 10, 20]);
  });
});

describe('compare zoom', () => {
  it('fits the focus region and keeps the point under the cursor fixed while zooming', () => {
    const focus = { x: 100, y: 100, w: 50, h: 50 };
    const s0 = resetZoom();
    const t0 = paneTransform(focus, 400, 400, s0, 1);
    assert.equal(t0.scale, 8);
    assert.equal(t0.tx + 125 * t0.scale, 200);
    const cursor = { x: 50, y: -30 };
    const s1 = zoomAt(s0, 2, cursor.x, cursor.y);
    const t1 = paneTransform(focus, 400, 400, s1, 1);
    // The content point under the cursor before and after is the same.
    const before = (200 + cursor.x - t0.tx) / t0.scale;
    const after = (200 + cursor.x - t1.tx) / t1.scale;
    assert.ok(Math.abs(before - after) < 1e-9);
  });
});

describe('wire encoding', () => {
  it('round-trips bytes of every length through base64', () => {
    for (let n = 0; n < 20; n++) {
      const bytes = Uint8Array.from({ length: n * 37 + (n % 3) }, (_, i) => (i * 131 + n) & 255);
      const text = bytesToBase64(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64'));
      assert.deepEqual(base64ToBytes(text), bytes);
    }
  });

  it('encodes Uint8Array anywhere in the arguments and restores it', () => {
    const args = [{ name: 'q.jpg', bytes: new Uint8Array([1, 2, 250]) }, 3, null];
    const wire = JSON.parse(JSON.stringify(encodeWire(args)));
    assert.deepEqual(wire[0].bytes, { $base64: 'AQL6' });
    assert.deepEqual(decodeWire(wire), args);
  });

  it('rejects malformed base64', () => {
    assert.throws(() => base64ToBytes('ab$d'), /invalid character/);
  });

  it('refuses keys that reach a prototype, naming where they were', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const wire = JSON.parse(`[{"caseId":1,"format":"html","${key}":{"polluted":true}}]`);
      assert.throws(() => decodeWire(wire), new RegExp(`arguments\\[0\\]: the key "${key}" is refused`));
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('web host media URLs', () => {
  it('spells every media URL as this host\'s route by id, with the session\'s media key', () => {
    const session = createWebSession();
    const key = encodeURIComponent(session.mediaKey);
    assert.equal(session.mediaUrl('thumb', 7), `/media/thumb/7?k=${key}`);
    assert.equal(session.mediaUrl('query', 'ab.jpg'), `/media/query/ab.jpg?k=${key}`);
    assert.equal(session.mediaUrl('image', '../x'), `/media/image/..%2Fx?k=${key}`);
    assert.notEqual(session.mediaKey, session.token);
    assert.notEqual(createWebSession().token, session.token, 'a fresh token per run');
  });
});

describe('verified match outline', () => {
  it('scales the quadrilateral into SVG points and labels verified and unverified hits', () => {
    assert.equal(quadPoints([{ x: 10, y: 20 }, { x: 110, y: 22 }, { x: 108, y: 90 }, { x: 12, y: 88 }], 0.5), '5.0,10.0 55.0,11.0 54.0,45.0 6.0,44.0');
    assert.equal(matchLabel({ status: 'verified', inliers: 37, mirrored: false }), 'verified · 37 inliers');
    assert.equal(matchLabel({ status: 'verified', inliers: 21, mirrored: true }), 'verified mirrored · 21 inliers');
    assert.equal(matchLabel({ status: 'unverified', inliers: 0, mirrored: false }), 'unverified · window match');
    assert.equal(matchLabel({ status: 'query-too-few-features', inliers: 0, mirrored: false }), 'unverified · crop has too few features');
  });
});

describe('likely matches divider', () => {
  /** Hits with the given statuses; a verified one has LIKELY_MIN_INLIERS inliers unless given as [status, inliers]. */
  const hits = (...verdicts: (VerificationStatus | [VerificationStatus, number])[]) =>
    verdicts.map((v) => {
      const [status, inliers] = Array.isArray(v) ? v : [v, v === 'verified' ? LIKELY_MIN_INLIERS : 0];
      return { verification: { status, inliers, matches: inliers, quad: null } } as unknown as SearchHit;
    });

  it('sits after the leading run of strongly verified hits, whatever their scores', () => {
    const l = likelyMatches(hits('verified', ['verified', 90], 'unverified', 'failed', 'not-checked'));
    assert.equal(l.count, 2);
    assert.match(l.label, /2 likely matches \(verified\) · ▼ by score only/);
    assert.match(l.legend, /does not depend on the crop's size/);
    assert.match(l.legend, new RegExp(`at least ${LIKELY_MIN_INLIERS} of the crop's keypoints`));
    assert.match(l.legend, /can still show another object/);
    assert.equal(likelyMatches(hits('verified')).count, 1);
  });

  it('leaves weakly verified hits below the line and says how many there are', () => {
    const weak = LIKELY_MIN_INLIERS - 1;
    const l = likelyMatches(hits(['verified', 120], ['verified', weak], ['verified', 20], 'unverified'));
    assert.equal(l.count, 1);
    assert.match(l.label, /1 likely match \(verified\) · ▼ 2 verified weakly, then by score only/);
    const none = likelyMatches(hits(['verified', weak], 'unverified'));
    assert.equal(none.count, 0);
    assert.match(none.label, new RegExp(`No likely match \\(fewer than ${LIKELY_MIN_INLIERS} keypoints fit any hit\\) · ▼ 1 verified weakly`));
    // The engine's rule is the same one, with the bar as a parameter (quari eval measures the line at several).
    assert.equal(likelyMatchCount(hits(['verified', 120], ['verified', weak])), 1);
    assert.equal(likelyMatchCount(hits(['verified', 120], ['verified', weak]), weak), 2);
    assert.equal(likelyMatchCount(hits(['verified', 120], ['verified', 60]), 61), 1);
    assert.equal(likelyMatchCount([]), 0);
  });

  it('says why there is no likely match', () => {
    assert.match(likelyMatches(hits('multi-region', 'multi-region')).label, /several crops are not verified/);
    assert.match(likelyMatches(hits('query-too-few-features')).label, /too few features/);
    assert.match(likelyMatches(hits('unverified', 'failed', 'not-checked')).label, /No hit was verified/);
    assert.equal(likelyMatches(hits('not-checked')).count, 0);
    assert.match(likelyMatches(hits('not-checked')).label, /restored search/);
  });
});
