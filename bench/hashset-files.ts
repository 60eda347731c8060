// Generated hash-set files from the published schemas, for the tests and `npm run bench` (nothing is downloaded):
// an NSRL RDS v3 SQLite file (VERSION, MFG, OS, PKG and FILE as the RDSv3 "modern minimal" publication defines
// them, FILE's primary key starting with sha256) and Project VIC VICS JSON in the 1.3 (Cases/Media) and 2.0
// (Media list) shapes.
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface RdsRow {
  sha256: string;
  sha1: string;
  md5: string;
  fileName: string;
  fileSize: number;
  packageId?: number;
}

export const RDS_SCHEMA = `
CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL, build_date TIMESTAMP NOT NULL,
  release_date TIMESTAMP NOT NULL, description VARCHAR NOT NULL);
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL, CONSTRAINT PK_MFG__MFG_ID PRIMARY KEY (manufacturer_id));
CREATE TABLE OS (operating_system_id INTEGER, name VARCHAR NOT NULL, version VARCHAR NOT NULL, manufacturer_id INTEGER NOT NULL,
  CONSTRAINT PK_OS__OS_ID PRIMARY KEY (operating_system_id, manufacturer_id));
CREATE TABLE PKG (package_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL, operating_system_id INTEGER NOT NULL,
  manufacturer_id INTEGER NOT NULL, language VARCHAR NOT NULL, application_type VARCHAR NOT NULL,
  CONSTRAINT PK_PKG__PKG_ID PRIMARY KEY (package_id, operating_system_id, manufacturer_id, language, application_type));
CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, crc32 VARCHAR NOT NULL,
  file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL, package_id INTEGER NOT NULL,
  CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, file_name, file_size, package_id));
`;

/** Writes an RDS v3-shaped SQLite file holding `rows` (hashes upper-case, as NIST publishes them). */
export function writeRdsFile(path: string, rows: Iterable<RdsRow>, version = '2024.03.1'): number {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.exec(RDS_SCHEMA);
    db.prepare(`INSERT INTO VERSION VALUES (?, 'modern', '2024-03-01', '2024-03-15', 'generated RDS-shaped test set')`).run(version);
    db.exec(`INSERT INTO MFG VALUES (1, 'Example Software'); INSERT INTO OS VALUES (1, 'ExampleOS', '1', 1);
      INSERT INTO PKG VALUES (1, 'Example Suite', '1.0', 1, 1, 'English', 'Operating System')`);
    const insert = db.prepare(`INSERT INTO FILE VALUES (?, ?, ?, '00000000', ?, ?, ?)`);
    let n = 0;
    db.transaction(() => {
      for (const r of rows) {
        insert.run(r.sha256.toUpperCase(), r.sha1.toUpperCase(), r.md5.toUpperCase(), r.fileName, r.fileSize, r.packageId ?? 1);
        n++;
      }
    })();
    return n;
  } finally {
    db.close();
  }
}

/**
 * `count` distinct RDS rows from a seed, in ascending sha256 order (the order NIST's primary-key index walks, so
 * writing them costs no random B-tree inserts): each hash's first 8 hex digits step evenly through the 32-bit
 * range and the rest is pseudo-random, so the key space is spread like real hashes.
 */
export function* syntheticRdsRows(count: number, seed = 1): Generator<RdsRow> {
  let x = seed >>> 0 || 1;
  const word = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x.toString(16).padStart(8, '0');
  };
  const words = (k: number) => Array.from({ length: k }, word).join('');
  for (let i = 0; i < count; i++) {
    const prefix = Math.floor((i * 0x100000000) / count).toString(16).padStart(8, '0');
    yield { sha256: prefix + words(7), sha1: words(5), md5: words(4), fileName: `f${i}.dll`, fileSize: 1000 + (i % 5000) };
  }
}

export interface VicsMedia {
  md5?: string;
  sha1?: string;
  category?: number | string | null;
  name?: string;
  size?: number;
  /** Extra fields written as they are (bad-input tests). */
  raw?: Record<string, unknown>;
}

function mediaJson(m: VicsMedia, i: number): Record<string, unknown> {
  return {
    MediaID: i + 1,
    ...(m.category !== undefined ? { Category: m.category } : {}),
    ...(m.md5 !== undefined ? { MD5: m.md5.toUpperCase() } : {}),
    ...(m.sha1 !== undefined ? { SHA1: m.sha1.toUpperCase() } : {}),
    MediaSize: m.size ?? 1234,
    IsPrecategorized: true,
    MediaFiles: [{ FileName: m.name ?? `m${i}.jpg`, FilePath: `\\evidence\\m${i}.jpg` }],
    ...m.raw,
  };
}

/** A VICS JSON document: 1.3 nests the media in one case, 2.0 lists them. */
export function vicsDocument(media: readonly VicsMedia[], version: '1.3' | '2.0' | string = '2.0'): string {
  if (version === '1.3') {
    return JSON.stringify({
      'odata.metadata': 'http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases',
      value: [{ CaseNumber: 'TEST-1', Media: media.map(mediaJson) }],
    });
  }
  return JSON.stringify({
    '@odata.context': `http://github.com/VICSDATAMODEL/ProjectVic/DataModels/${version}.xml/US/$metadata#Media`,
    value: media.map(mediaJson),
  });
}

export function writeVicsFile(path: string, media: readonly VicsMedia[], version?: string): void {
  writeFileSync(path, vicsDocument(media, version));
}
