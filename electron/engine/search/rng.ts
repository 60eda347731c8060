// Seeded PRNG: the IVF index's k-means sampling (IvfIndex.ts) needs it at run time, so it lives in the engine; the
// benchmark generator, the training dumps and the tests that must build the same data on every run import it here.

/** mulberry32: uniform numbers in [0, 1); small, fast, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
