// The realpath → open race inside an evidence folder someone writes to during ingest: a folder on the file's path is
// swapped, again and again by another process, for a link to a folder outside the evidence holding a different
// photo under the same name. Ingest's reader is driven exactly as ingest drives it (real path resolved, checked
// inside the evidence folder, then read with O_NOFOLLOW and the folder to stay within) until the swap has landed
// between check and open many times: the outside photo's bytes are never returned, each landing is refused naming
// the file. (Run under `quari ingest` the swap rarely lands in the window — 24 files, none in two runs — so the
// reader is attacked directly; ingestFolder passes the evidence folder as `within` on every read.)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { isPathInside } from '../../electron/shared/paths.ts';
import { readFileBytes } from '../../electron/engine/images/decode.ts';

const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'quari-sec-race-')));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A child process that swaps `folder` for a link to `target` and back as fast as it can, until killed. */
function startSwapping(folder: string, target: string): ChildProcess {
  const script = `
    const fs = require('node:fs');
    const [folder, target] = process.argv.slice(1);
    const held = folder + '.held';
    for (;;) {
      fs.renameSync(folder, held);
      fs.symlinkSync(target, folder);
      fs.unlinkSync(folder);
      fs.renameSync(held, folder);
    }`;
  return spawn(process.execPath, ['-e', script, folder, target], { stdio: 'ignore' });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const jpeg = (colour: string) => sharp({ create: { width: 32, height: 24, channels: 3, background: colour } }).jpeg().toBuffer();
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

test('a folder swapped for a link out of the evidence between the containment check and the open is refused, never read', { timeout: 120_000 }, async () => {
  const root = join(tmp, 'evidence');
  const sub = join(root, 'sub');
  const secret = join(tmp, 'private');
  mkdirSync(sub, { recursive: true });
  mkdirSync(secret);
  const inside = await jpeg('#2050a0');
  const outside = await jpeg('#a02020');
  writeFileSync(join(sub, 'photo.jpg'), inside);
  writeFileSync(join(secret, 'photo.jpg'), outside);
  const outsideSha = sha256(outside);

  const swapper = startSwapping(sub, secret);
  const counts = { read: 0, leaked: 0, refusedAtOpen: 0, refusedAtCheck: 0 };
  const messages = new Set<string>();
  try {
    const deadline = Date.now() + 20_000;
    // Until the swap has landed between check and open 20 times (or 20 s under a loaded machine).
    while (Date.now() < deadline && counts.refusedAtOpen < 20 && counts.leaked < 5) {
      const path = join(sub, 'photo.jpg');
      let real: string;
      try {
        real = await realpath(path);
      } catch {
        counts.refusedAtCheck++;
        continue;
      }
      if (!isPathInside(real, root)) {
        counts.refusedAtCheck++;
        continue;
      }
      try {
        const file = await readFileBytes(real, { noFollow: true, within: root });
        counts.read++;
        if (file.sha256 === outsideSha) counts.leaked++;
      } catch (err) {
        const message = (err as Error).message;
        if (/left the evidence folder/.test(message)) {
          counts.refusedAtOpen++;
          messages.add(message.replace(/\(.*\)/, '(…)'));
        }
      }
    }
  } finally {
    await stop(swapper);
  }
  console.log(`# swap race: ${JSON.stringify(counts)}`);
  assert.equal(counts.leaked, 0, 'bytes of the file outside the evidence folder were read');
  assert.ok(counts.refusedAtOpen > 0, `the swap never landed between check and open: ${JSON.stringify(counts)}`);
  assert.ok(counts.read > 0, 'the photo inside the evidence folder was still read between swaps');
  for (const m of messages) assert.ok(m.startsWith(`${join(sub, 'photo.jpg')}: left the evidence folder ${root} while being opened`), m);
});

