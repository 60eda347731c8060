// The FIFO-swap attack of the hardening tests (tests/security/): a child process that keeps replacing a file by a
// FIFO and back, so a reader that checks the path and then opens it can be handed the FIFO in between.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export const haveMkfifo = spawnSync('mkfifo', ['--version']).status === 0;

export function mkfifo(file: string): void {
  assert.equal(spawnSync('mkfifo', [file]).status, 0, `mkfifo ${file}`);
}

/**
 * A process that swaps `target` between `parts`/regular and `parts`/fifo (atomic renames) until stopped; resolves
 * once it has swapped both ways, so that an attack loop never runs its requests before the swapping has begun (a
 * fast loop could otherwise finish inside the child's start-up and meet one state only).
 */
export async function startSwapping(parts: string, target: string): Promise<ChildProcess> {
  const script = `
    const fs = require('node:fs');
    const [parts, target] = process.argv.slice(1);
    for (let i = 0; ; i++) {
      // rename() between two links to one inode does nothing, so "next" may still be there.
      fs.rmSync(parts + '/next', { force: true });
      fs.linkSync(parts + '/' + (i % 2 ? 'fifo' : 'regular'), parts + '/next');
      fs.renameSync(parts + '/next', target);
      if (i === 1) process.stdout.write('swapping\\n');
    }`;
  const child = spawn(process.execPath, ['-e', script, parts, target], { stdio: ['ignore', 'pipe', 'ignore'] });
  const [chunk] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => [null])])) as [Buffer | null];
  assert.ok(chunk, 'the swapping process started swapping');
  child.stdout!.resume(); // nothing more is written; keep the pipe drained anyway
  return child;
}

/** Stops the swapper, asserting it ran throughout (so the attack really lasted the whole test). */
export async function stopSwapping(swapper: ChildProcess): Promise<void> {
  assert.equal(swapper.exitCode, null, 'the swapping process ran throughout');
  const exited = new Promise((resolve) => swapper.once('exit', resolve));
  swapper.kill('SIGKILL');
  await exited;
}
