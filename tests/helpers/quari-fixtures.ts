// Where the QuARI reference fixtures are. cfgS (1.2 MB, tests/fixtures/quari-reference-small/, copied from
// shared/fixtures/quari-reference-small/) ships with the repository, so a bare clone tests reference parity on its
// own; the larger cfgA (73 MB) and cfgB (21 MB) stay in ../shared beside the checkout, and tests that use them skip,
// saying why, where it is absent.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository's own small fixture (E=128, r=8, hidden 64, 2 steps, 2 layers, 4 heads, Frobenius norm). */
export const CFG_S = fileURLToPath(new URL('../fixtures/quari-reference-small/cfgS/', import.meta.url));

const SHARED = fileURLToPath(new URL('../../../shared/fixtures/quari-reference/', import.meta.url));

/** A shared configuration's folder, or a `skip` reason naming the folder that is missing. */
export function sharedFixture(name: 'cfgA' | 'cfgB'): { dir: string; skip?: undefined } | { dir: string; skip: string } {
  const dir = `${SHARED}${name}/`;
  return existsSync(`${dir}weights.pt`) ? { dir } : { dir, skip: `${dir} is absent (../shared is not beside this checkout)` };
}
