// Child process of export-atomic.test.ts: runs inside a user+mount namespace where `dir` is a 64 KiB tmpfs, and
// writes a 300 KiB export there through the real writer and the real file system. Prints one JSON line.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../electron/engine/export/atomicWrite.ts';

const dir = process.argv[2];
const previous = writeFileAtomic(dir, 'case-1-report.html', '<p>the earlier, complete report</p>');
let error: { code?: unknown; message: string } | null = null;
try {
  writeFileAtomic(dir, 'case-1-report.html', 'x'.repeat(300 * 1024));
} catch (err) {
  error = { code: (err as { code?: unknown }).code, message: (err as Error).message };
}
console.log(JSON.stringify({ error, files: readdirSync(dir), previous: readFileSync(path.join(dir, path.basename(previous)), 'utf8') }));
