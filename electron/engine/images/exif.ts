// The EXIF facts ingest keeps: capture time as the camera wrote it, camera make/model, GPS position.
// Unreadable or absent EXIF is not an error: an evidence photo without metadata is still evidence.
import exifr from 'exifr';
import { CAMERA_TEXT_MAX } from '../../shared/constants.ts';

export interface ExifFacts {
  /** ISO-like local time as recorded ('2023-04-05T14:03:09', with its offset when the camera wrote one). */
  capturedAt: string | null;
  cameraMake: string | null;
  cameraModel: string | null;
  gpsLat: number | null;
  gpsLon: number | null;
}

const NONE: ExifFacts = { capturedAt: null, cameraMake: null, cameraModel: null, gpsLat: null, gpsLon: null };

const PICK = ['DateTimeOriginal', 'CreateDate', 'DateTime', 'OffsetTimeOriginal', 'Make', 'Model',
  'GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef'];

/**
 * Parses the EXIF block sharp found (`rawExif`: small, and in every container sharp reads, WebP included), else the
 * whole file (TIFF keeps its tags in the file's own IFD). Dates stay strings: EXIF times have no zone, so turning
 * them into Date would invent one.
 */
export async function readExif(bytes: Buffer, rawExif: Buffer | null): Promise<ExifFacts> {
  const options = { pick: PICK, tiff: true, exif: true, gps: true, xmp: false, icc: false, iptc: false, jfif: false, ihdr: false, reviveValues: false };
  let tags: Record<string, unknown> | undefined;
  // sharp hands the block with its JPEG APP1 'Exif\0\0' prefix, which exifr does not expect.
  const block = rawExif && rawExif.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? rawExif.subarray(6) : rawExif;
  for (const source of [block, bytes]) {
    if (!source) continue;
    try {
      tags = await exifr.parse(source, options);
    } catch {
      tags = undefined;
    }
    if (tags) break;
  }
  if (!tags) return NONE;
  return {
    capturedAt: exifDate(tags.DateTimeOriginal ?? tags.CreateDate ?? tags.DateTime, tags.OffsetTimeOriginal),
    cameraMake: cleanText(tags.Make),
    cameraModel: cleanText(tags.Model),
    ...gps(tags),
  };
}

/** C0 and C1 controls, DEL and the bidi controls: never part of a camera's name, and terminal or display tricks. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Hostile EXIF can carry megabytes of text (a TIFF's IFD): kept to CAMERA_TEXT_MAX characters, controls dropped. */
function cleanText(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.slice(0, 4 * CAMERA_TEXT_MAX).replace(CONTROLS, '').trim().slice(0, CAMERA_TEXT_MAX).trim();
  return s.length > 0 ? s : null;
}

/** '2023:04:05 14:03:09' (+ '+02:00') → '2023-04-05T14:03:09+02:00'; null for blank or malformed values. */
export function exifDate(value: unknown, offset?: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value.trim());
  if (!m || m[1] === '0000') return null;
  const zone = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset.trim()) ? offset.trim() : '';
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${zone}`;
}

function gps(tags: Record<string, unknown>): { gpsLat: number | null; gpsLon: number | null } {
  const lat = dms(tags.GPSLatitude, tags.GPSLatitudeRef, 'S');
  const lon = dms(tags.GPSLongitude, tags.GPSLongitudeRef, 'W');
  if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return { gpsLat: null, gpsLon: null };
  return { gpsLat: lat, gpsLon: lon };
}

function dms(value: unknown, ref: unknown, negativeRef: string): number | null {
  let deg: number;
  if (typeof value === 'number') deg = value;
  else if (Array.isArray(value) && value.length === 3 && value.every((v) => typeof v === 'number')) {
    deg = value[0] + value[1] / 60 + value[2] / 3600;
  } else return null;
  if (!Number.isFinite(deg)) return null;
  return typeof ref === 'string' && ref.trim().toUpperCase() === negativeRef ? -Math.abs(deg) : deg;
}
