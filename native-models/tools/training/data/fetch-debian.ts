// Downloads the Debian packages in SOURCES with `apt-get download` (no install, no root changes), extracts them with
// `dpkg-deb -x` into the cache, and records each package's version and copyright file in sources.json.
// Usage: npx tsx native-models/tools/training/data/fetch-debian.ts [pkg ...]   (needs a prior `apt-get update`)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOURCES, SOURCES_MANIFEST, cacheDir, debsDir, extractDir, isReserved, type DebianSource } from './sources.ts';

export interface FetchedSource {
  pkg: string;
  role: DebianSource['role'];
  version: string;
  deb: string;
  /** Path of the copyright file inside the extracted package, and its text (the licence record). */
  copyrightFile: string;
  copyright: string;
  /** `License:` short names found in the machine-readable copyright file, if it is one. */
  licences: string[];
}

function debFor(pkg: string): string | undefined {
  return readdirSync(debsDir()).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
}

function fetchOne(src: DebianSource): FetchedSource {
  if (isReserved(src.pkg)) throw new Error(`${src.pkg} is reserved for an independent evaluation and must not be fetched`);
  let deb = debFor(src.pkg);
  if (!deb) {
    execFileSync('apt-get', ['download', src.pkg], { cwd: debsDir(), stdio: 'inherit' });
    deb = debFor(src.pkg);
    if (!deb) throw new Error(`apt-get download ${src.pkg}: no .deb appeared in ${debsDir()}`);
  }
  const out = extractDir(src.pkg);
  if (!existsSync(join(out, 'usr'))) {
    mkdirSync(out, { recursive: true });
    execFileSync('dpkg-deb', ['-x', join(debsDir(), deb), out], { stdio: 'inherit' });
  }
  const version = execFileSync('dpkg-deb', ['-f', join(debsDir(), deb), 'Version'], { encoding: 'utf8' }).trim();
  const copyrightFile = `usr/share/doc/${src.pkg}/copyright`;
  const abs = join(out, copyrightFile);
  if (!existsSync(abs)) throw new Error(`${src.pkg}: no ${copyrightFile} in the extracted package`);
  const copyright = readFileSync(abs, 'utf8');
  const licences = [...new Set([...copyright.matchAll(/^License:\s*(\S[^\n]*)$/gm)].map((m) => m[1].trim()))];
  return { pkg: src.pkg, role: src.role, version, deb, copyrightFile, copyright, licences };
}

function main(argv: string[]): void {
  const wanted = argv.length ? SOURCES.filter((s) => argv.includes(s.pkg)) : SOURCES;
  if (argv.length && wanted.length !== argv.length) throw new Error(`unknown package in arguments: ${argv.join(' ')}`);
  mkdirSync(debsDir(), { recursive: true });
  const manifestPath = join(cacheDir(), SOURCES_MANIFEST);
  const manifest: Record<string, FetchedSource> = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
  for (const src of wanted) {
    manifest[src.pkg] = fetchOne(src);
    console.log(`${src.pkg} ${manifest[src.pkg].version}: ${manifest[src.pkg].licences.join(', ') || '(free-form copyright)'}`);
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 1));
  }
  console.log(`wrote ${manifestPath}`);
}

main(process.argv.slice(2));
