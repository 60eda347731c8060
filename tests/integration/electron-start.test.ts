// `npm start` on a machine without Electron's binary (this one: its download is denied offline) says so and
// serves the UI on the loopback host, passing --catalog/--port through.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function electronInstalled(): boolean {
  try {
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary);
  } catch {
    return false;
  }
}

test(
  'npm start falls back to the loopback web host and prints QUARI_WEB_URL',
  { skip: electronInstalled() ? 'Electron is installed here, so npm start opens the desktop app instead' : false, timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'quari-start-'));
    const catalog = path.join(dir, 'start.quari');
    const child = spawn('npm', ['start', '--', '--catalog', catalog, '--port', '0'], {
      cwd: ROOT,
      detached: true, // its own process group: npm → node → web host all stop together
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, QUARI_HOME: path.join(dir, 'home') },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          const m = /^QUARI_WEB_URL=(\S+)$/m.exec(stdout);
          if (m) resolve(m[1]);
        });
        void exited.then((code) => reject(new Error(`npm start exited (${code}) before printing QUARI_WEB_URL\n${stdout}\n${stderr}`)));
      });
      assert.match(stdout, /Electron's binary is not installed on this machine \(it cannot be downloaded offline\); starting the same UI on the loopback host instead/);
      const parsed = new URL(url);
      assert.equal(parsed.hostname, '127.0.0.1');
      assert.notEqual(parsed.port, '0', 'port 0 asks for a free port; the printed URL names the real one');
      // The host is really serving, on the catalog given on the command line.
      const res = await fetch(url, { redirect: 'manual' });
      assert.ok(res.status < 500, `GET ${url} → ${res.status}`);
      assert.ok(existsSync(catalog), 'the catalog named with --catalog was created');
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
