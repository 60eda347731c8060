// The dependency direction is a rule of the build: this test fails the suite when any import in the tree crosses
// a layer the wrong way (scripts/check-layers.ts holds the rules; README "How it is built" states them).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { checkLayers, importsOf } from '../../scripts/check-layers.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

test('no import in the tree crosses a layer the wrong way', () => {
  const violations = checkLayers(REPO);
  assert.deepEqual(violations.map((v) => `${v.file}: imports ${v.imports}: ${v.rule}`), []);
});

const tmp = mkdtempSync(path.join(tmpdir(), 'quari-layers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('each rule catches its violation (static, type-only, re-export, dynamic and Svelte imports)', () => {
  const files: Record<string, string> = {
    'renderer/src/a.ts': "import { x } from '../../electron/main/ipc.ts';\nimport fs from 'node:fs';\n",
    'renderer/src/B.svelte': "<script lang=\"ts\">\n  import type { Row } from '../../db/Interface.ts';\n</script>\n",
    'renderer/src/ok.ts': "import type { Box } from '../../electron/shared/api.ts';\nimport { TOKEN_HEADER } from '../../electron/shared/protocol/routes.ts';\nimport { likelyMatchCount } from '../../electron/shared/likelyMatches.ts';\n/* import { y } from '../../electron/main/x.ts'; */\n",
    'electron/shared/likelyMatches.ts': "import { readFileSync } from 'node:fs';\n",
    'electron/shared/protocol/p.ts': "import path from 'node:path';\n",
    'electron/engine/search/s.ts': "import type {\n  SearchHit,\n} from '../../shared/api.ts';\n",
    'electron/engine/app/a.ts': "export { registerApiHandlers } from '../../main/ipc.ts';\n",
    'electron/engine/images/i.ts': "const m = await import('../models/ImageEncoder.ts');\n",
    'native-models/packs/p.ts': "import { ImageProcessor } from '../../electron/engine/images/processor.ts';\n",
    'native-models/tools/training/regions/t.ts': "import { ImageProcessor } from '../../../../electron/engine/images/processor.ts';\n",
    'native-models/tools/converters/c.ts': "import { ImageProcessor } from '../../../electron/engine/images/processor.ts';\n",
    'native-models/runtime/packs/r.ts': "import { decodeWeights } from '../../tools/converters/tfjs/weights.ts';\nimport * as scheme from '../../packs/mobilenetv2-nsfwjs/scheme.ts';\nimport { main } from '../../../electron/engine/cli/main.ts';\n",
    'electron/engine/app/p.ts': "import { buildNsfwjsPack } from '../../../native-models/tools/build-default-pack.ts';\nimport { PackRegistry } from '../../../native-models/runtime/packs/registry.ts';\n",
    'db/d.ts': "const s = await import('../native-models/tools/training/data/sources.ts');\n",
    'electron/preload/p.ts': "import { channelFor } from '../main/channels.ts';\n",
    'electron/web/w.ts': "import { encodeWire } from '../../renderer/src/api/wire.ts';\nimport { resolveServableFile } from '../main/paths.ts';\n",
  };
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
    writeFileSync(path.join(tmp, f), text);
  }
  const found = checkLayers(tmp, Object.keys(files)).map((v) => `${v.file} -> ${v.imports}`);
  assert.deepEqual(found.sort(), [
    'electron/engine/app/a.ts -> ../../main/ipc.ts',
    'electron/engine/images/i.ts -> ../models/ImageEncoder.ts',
    'native-models/packs/p.ts -> ../../electron/engine/images/processor.ts',
    'native-models/tools/converters/c.ts -> ../../../electron/engine/images/processor.ts',
    'native-models/runtime/packs/r.ts -> ../../tools/converters/tfjs/weights.ts',
    'native-models/runtime/packs/r.ts -> ../../packs/mobilenetv2-nsfwjs/scheme.ts',
    'native-models/runtime/packs/r.ts -> ../../../electron/engine/cli/main.ts',
    'electron/engine/app/p.ts -> ../../../native-models/tools/build-default-pack.ts',
    'db/d.ts -> ../native-models/tools/training/data/sources.ts',
    'electron/engine/search/s.ts -> ../../shared/api.ts',
    'electron/preload/p.ts -> ../main/channels.ts',
    'electron/shared/likelyMatches.ts -> node:fs',
    'electron/shared/protocol/p.ts -> node:path',
    'electron/web/w.ts -> ../../renderer/src/api/wire.ts',
    'electron/web/w.ts -> ../main/paths.ts',
    'renderer/src/B.svelte -> ../../db/Interface.ts',
    'renderer/src/a.ts -> ../../electron/main/ipc.ts',
    'renderer/src/a.ts -> node:fs',
  ].sort());
});

test('the scanner sees the imports it must see', () => {
  assert.deepEqual(importsOf("import a from 'x';\nexport * from './y.ts';\nimport './z.css';\nawait import('w');\n", 'f.ts').sort(), ['./y.ts', './z.css', 'w', 'x']);
});
