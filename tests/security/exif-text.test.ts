// Hostile EXIF text through ingest's reader: a camera make of 60,000 characters (a JPEG APP1 segment holds up to
// 64 KiB; a TIFF's own IFD, up to the 256 MiB file limit) and make/model strings carrying terminal escapes and
// other control characters (EXIF ASCII as libvips writes it: non-ASCII becomes "?", so C1 and bidi controls,
// dropped too, are not planted here). Each image's make and model are stored, listed (up to 1,000 per browse
// page) and filtered on, so they are kept to CAMERA_TEXT_MAX characters with no control characters — the same
// bound and character rule the search filter accepts, so every stored make can be filtered on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { readImageHeader } from '../../electron/engine/images/decode.ts';
import { readExif } from '../../electron/engine/images/exif.ts';
import { CAMERA_TEXT_MAX } from '../../electron/shared/constants.ts';
import { validateArgs } from '../../electron/shared/protocol/validate.ts';

const photo = (make: string, model: string) =>
  sharp({ create: { width: 16, height: 16, channels: 3, background: '#123456' } })
    .jpeg()
    .withExif({ IFD0: { Make: make, Model: model } })
    .toBuffer();

test('EXIF make and model are bounded and stripped of control characters', async () => {
  const bytes = await photo('M'.repeat(60_000), 'EOS\u001b[2J\u001b]0;pwned\u0007 5D\u007f');
  const facts = await readExif(bytes, (await readImageHeader(bytes, 'e.jpg')).exif);
  assert.equal(facts.cameraMake, 'M'.repeat(CAMERA_TEXT_MAX));
  assert.equal(facts.cameraModel, 'EOS[2J]0;pwned 5D');
  // What is stored is what the search filter accepts.
  for (const value of [facts.cameraMake, facts.cameraModel]) {
    assert.doesNotThrow(() => validateArgs('browseImages', [{ filter: { cameraMake: value } }]), String(value));
  }
});
