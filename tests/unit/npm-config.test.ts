// The project's npm configuration: no project config key npm does not know (every npm command warned about
// `onnxruntime-node-install`), and the install scripts that would download (onnxruntime-node's CUDA files, Electron's
// binary) denied by allowScripts, which npm ≥ 11.16 enforces.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');

test('npm reads the project config without warnings and the downloading install scripts are denied', async () => {
  const { stdout, stderr } = await promisify(execFile)('npm', ['pkg', 'get', 'allowScripts', 'engines'], { cwd: REPO });
  assert.doesNotMatch(stderr, /Unknown project config/, stderr);
  const got = JSON.parse(stdout) as { allowScripts: Record<string, boolean>; engines: Record<string, string> };
  assert.equal(got.allowScripts['onnxruntime-node'], false);
  assert.equal(got.allowScripts.electron, false);
  assert.equal(got.engines.npm, '>=11.16');
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: Record<string, string> };
  assert.deepEqual(pkg.engines, got.engines);
});
