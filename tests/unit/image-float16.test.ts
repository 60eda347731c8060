import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromFloat16Array, fromFloat16Bits, toFloat16Array, toFloat16Bits } from '../../electron/engine/models/float16.ts';

test('every finite and infinite half round-trips through float32 bit-exactly', () => {
  for (let b = 0; b < 0x10000; b++) {
    const v = fromFloat16Bits(b);
    if (Number.isNaN(v)) {
      assert.equal((b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0, true, `bits ${b.toString(16)} decoded to NaN`);
      assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(v))));
      continue;
    }
    assert.equal(toFloat16Bits(v), b, `half ${b.toString(16)} = ${v}`);
  }
});

test('values between two halves round to the nearer, ties to the even mantissa', () => {
  for (const lo of [0x0001, 0x0002, 0x03ff, 0x0400, 0x3c00, 0x3c01, 0x5000, 0x7bfe, 0x8400, 0xbc00]) {
    const a = fromFloat16Bits(lo);
    const b = fromFloat16Bits(lo + 1);
    const mid = (a + b) / 2;
    const evenBits = (lo & 1) === 0 ? lo : lo + 1;
    assert.equal(toFloat16Bits(mid), evenBits, `tie between ${lo.toString(16)} and ${(lo + 1).toString(16)}`);
    assert.equal(toFloat16Bits(a + (b - a) * 0.25), lo);
    assert.equal(toFloat16Bits(a + (b - a) * 0.75), lo + 1);
  }
});

test('overflow, underflow, signed zero and specials', () => {
  assert.equal(toFloat16Bits(65504), 0x7bff);
  assert.equal(toFloat16Bits(65520), 0x7c00); // halfway to the next (absent) half rounds up to Infinity
  assert.equal(toFloat16Bits(1e6), 0x7c00);
  assert.equal(toFloat16Bits(-1e6), 0xfc00);
  assert.equal(toFloat16Bits(Infinity), 0x7c00);
  assert.equal(toFloat16Bits(2 ** -26), 0);
  assert.equal(toFloat16Bits(-(2 ** -26)), 0x8000);
  assert.equal(toFloat16Bits(2 ** -25), 0); // exact tie with 0 and the smallest subnormal: even is 0
  assert.equal(toFloat16Bits(2 ** -25 * 1.01), 1);
  assert.equal(toFloat16Bits(-0), 0x8000);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
});

test('array helpers keep unit vectors within half precision of the original', () => {
  const v = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i * 1.7) / 16);
  const back = fromFloat16Array(toFloat16Array(v));
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i] - v[i]) <= Math.abs(v[i]) * 2 ** -11 + 2 ** -25, `element ${i}`);
});
