// The README's "How it is built" table is the map of the tree: every path it names exists, and every folder of the
// tree (top level, electron/, native-models/, tests/) and every entry of electron/shared is named by some row, so
// a move or a new folder that the table does not follow fails here.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Generated at install or build time, never in the table: dependencies, bundles, the addon's build, built packs.
const IGNORED = new Set(['node_modules', 'dist', 'build', 'built']);

/** The backticked paths of the table's "where" column, without a trailing slash; `<id>` stands for any one folder. */
function tablePaths(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| layer | where |');
  assert.ok(start >= 0, 'README has no "How it is built" table');
  const rows = readme.slice(start).split('\n\n')[0]!.split('\n').slice(2);
  return rows.flatMap((row) => [...row.split(' | ')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\/$/, '')));
}

const entries = (dir: string, dirsOnly: boolean) =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .filter((e) => !IGNORED.has(e.name) && (!dirsOnly || e.isDirectory()))
    .map((e) => (dir === '.' ? e.name : `${dir}/${e.name}`));

test('every path the layout table names exists', () => {
  for (const p of tablePaths()) {
    const concrete = p.replace(/\/<id>$/, '');
    assert.ok(existsSync(path.join(ROOT, concrete)), `README layout table names ${p}, which is not in the tree`);
  }
});

test('every folder of the tree is in the layout table', () => {
  const named = tablePaths().map((p) => p.replace(/\/<id>$/, ''));
  const covered = (p: string) => named.some((n) => p === n || p.startsWith(`${n}/`));
  const folders = [
    // Hidden folders are tooling (git, editors, scratch space), except the CI entry point.
    ...entries('.', true).filter((d) => !d.startsWith('.') || d === '.ci'),
    ...entries('electron', true),
    ...entries('electron/shared', false),
    ...entries('native-models', true),
    ...entries('tests', true),
  ].filter((p) => !['electron', 'electron/shared', 'native-models', 'tests'].includes(p));
  const missing = folders.filter((f) => !covered(f));
  assert.deepEqual(missing, [], `folders missing from README "How it is built": ${missing.join(', ')}`);
});
