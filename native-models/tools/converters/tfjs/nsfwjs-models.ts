// Reads the Keras/tfjs layers models that the nsfwjs npm package ships as browserify bundles:
// dist/models/<name>/model.min.js exports the model.json object and group1-shardNofM.min.js export
// base64 weight shards. They are the package's own CommonJS files, so createRequire loads them offline.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { kerasModelConfig, type TfjsLayersModelJson } from './model-json.ts';

export type NsfwjsModelName = 'mobilenet_v2' | 'mobilenet_v2_mid' | 'inception_v3';

/** Class order of the 5-way softmax, from nsfwjs/dist/esm/nsfw_classes.js. */
export const NSFWJS_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;

export interface NsfwjsModelFiles {
  name: NsfwjsModelName;
  version: string;
  licence: string;
  modelJson: TfjsLayersModelJson;
  /** Raw bytes of each shard, keyed by the shard path as written in weightsManifest. */
  shards: Map<string, Uint8Array>;
}

const require = createRequire(import.meta.url);

/** dist/ of the installed nsfwjs package (its `exports` map hides package.json, so go via the CJS entry). */
function nsfwjsDist(): string {
  let entry: string;
  try {
    entry = require.resolve('nsfwjs');
  } catch (e) {
    throw new Error(`nsfwjs is not installed (needed to build the default model pack): ${(e as Error).message}`);
  }
  return dirname(dirname(entry));
}

export function loadNsfwjsModel(name: NsfwjsModelName): NsfwjsModelFiles {
  const dist = nsfwjsDist();
  const dir = join(dist, 'models', name);
  const modelPath = join(dir, 'model.min.js');
  if (!existsSync(modelPath)) throw new Error(`nsfwjs model '${name}': ${modelPath} does not exist`);
  const modelJson = require(modelPath) as TfjsLayersModelJson;
  if (!modelJson?.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`nsfwjs model '${name}': ${modelPath} does not export a tfjs layers model.json`);
  }
  kerasModelConfig(modelJson);
  const shards = new Map<string, Uint8Array>();
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      const file = join(dir, `${p}.min.js`);
      const b64 = require(file) as unknown;
      if (typeof b64 !== 'string') throw new Error(`nsfwjs model '${name}': ${file} does not export a base64 string`);
      const buf = Buffer.from(b64, 'base64');
      shards.set(p, new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    }
  }
  const pkg = JSON.parse(readFileSync(join(dirname(dist), 'package.json'), 'utf8')) as { version: string; license: string };
  return { name, version: pkg.version, licence: pkg.license, modelJson, shards };
}
