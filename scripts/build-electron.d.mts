// Types for scripts/build-electron.mjs, imported by the bundle tests.
export declare const OUT_DIR: string;
export declare function buildElectron(outDir?: string): Promise<string>;
