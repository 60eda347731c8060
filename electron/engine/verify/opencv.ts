// Loads OpenCV's official WASM build (npm @techstark/opencv-js, Apache-2.0) once per thread. Chosen over a
// node-gyp binding to Debian's libopencv 4.6 because it needs no system library, no apt step and nothing for
// electron-builder to carry; measured on the 2-core machine (busy, load ≈ 8, same images, one thread):
//   ORB 1000 features on 800×600: WASM 109 ms, native 4.6 28 ms; ORB 500 on a 360×270 crop: 27 vs 6 ms;
//   knnMatch 481×1000 + RANSAC homography: 42 vs 16 ms (native via Debian's python3-opencv, the same libopencv).
// Native is ≈ 3–4× faster; verification therefore works on small regions (params.ts maxSide) in two workers.
// (That RANSAC figure was mostly classic RANSAC running all its iterations: geometry.ts now uses USAC, ≈ 40× faster.
// Descriptor matching left OpenCV for the project's own Hamming kernel: search/native/hamming.c.)
import { createRequire } from 'node:module';

/** The part of OpenCV.js this project calls; the package's own typings are far wider and not needed. */
export interface Cv {
  CV_8UC1: number;
  CV_32FC2: number;
  USAC_DEFAULT: number;
  Mat: new () => CvMat;
  matFromArray(rows: number, cols: number, type: number, data: ArrayLike<number>): CvMat;
  ORB: new (nfeatures: number) => { detectAndCompute(img: CvMat, mask: CvMat, kp: CvKeyPointVector, desc: CvMat): void; delete(): void };
  KeyPointVector: new () => CvKeyPointVector;
  findHomography(src: CvMat, dst: CvMat, method: number, threshold: number, mask: CvMat, maxIters: number, confidence: number): CvMat;
}
export interface CvMat {
  rows: number;
  cols: number;
  data: Uint8Array;
  data64F: Float64Array;
  delete(): void;
}
interface CvVector<T> {
  size(): number;
  get(i: number): T;
  delete(): void;
}
export type CvKeyPointVector = CvVector<{ pt: { x: number; y: number } }>;

let loading: Promise<Cv> | null = null;

export function loadOpenCv(): Promise<Cv> {
  loading ??= new Promise<Cv>((resolve, reject) => {
    const mod = createRequire(import.meta.url)('@techstark/opencv-js') as { then?: (cb: (m: Cv & { then?: unknown }) => void) => void };
    if (typeof mod.then !== 'function') return reject(new Error('@techstark/opencv-js did not return an Emscripten module'));
    // The module is a thenable resolving to itself: awaiting it directly loops forever, so drop `then` first.
    mod.then((m) => {
      delete m.then;
      resolve(m);
    });
  });
  return loading;
}
