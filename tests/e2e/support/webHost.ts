// Starts the real loopback web host (electron/web/main.ts) as a child process, as an analyst would with
// `npm run web`, and waits for the QUARI_WEB_URL line.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RunningHost {
  url: string;
  origin: string;
  token: string;
  /** The media key the URL's fragment carries (authorises media reads only). */
  mediaKey: string;
  port: number;
  /** The host process (its /proc entry shows what an attack cost it in memory). */
  pid: number;
  /** Everything the host wrote to stderr so far: attached to failures. */
  log(): string;
  stop(): Promise<void>;
}

export async function startHost(args: { catalogPath: string; dataHome?: string }, timeoutMs = 180_000): Promise<RunningHost> {
  const argv = ['--import', 'tsx', path.join(REPO_ROOT, 'electron/web/main.ts'), '--catalog', args.catalogPath, '--port', '0'];
  if (args.dataHome) argv.push('--data-home', args.dataHome);
  const child: ChildProcess = spawn(process.execPath, argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`web host printed no QUARI_WEB_URL within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^QUARI_WEB_URL=(\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`web host exited with code ${code} before serving:\n${stderr}`));
    });
  });

  const parsed = new URL(url);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url,
    origin: parsed.origin,
    token: new URLSearchParams(parsed.hash.slice(1)).get('token') ?? '',
    mediaKey: new URLSearchParams(parsed.hash.slice(1)).get('media') ?? '',
    port: Number(parsed.port),
    pid: child.pid!,
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
