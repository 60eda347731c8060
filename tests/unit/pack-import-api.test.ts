// Importing a model pack through the shared dispatch path both hosts call: a pack that fails its checks is a
// 'bad-request' naming what is wrong (the analyst can fix it), a failure of the host itself (here: the data home's
// packs folder cannot be created) an 'internal' error whose details go to the host's log, and a good pack lands.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openCatalog } from '../../db/CatalogStore.ts';
import { createAppService, type AppService } from '../../electron/engine/app/AppService.ts';
import { dispatch } from '../../electron/shared/protocol/dispatch.ts';
import { makePack } from '../helpers/tinyPack.ts';

const dir = mkdtempSync(join(tmpdir(), 'pack-import-api-'));
const logged: string[] = [];
const context = { chooseFolder: async () => null, log: { warn: (l: string) => logged.push(l), error: (l: string) => logged.push(l) } };
const services: AppService[] = [];
after(async () => {
  for (const s of services) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function service(name: string): Promise<AppService> {
  const catalogPath = join(dir, `${name}.sqlite`);
  openCatalog(catalogPath).close();
  const s = await createAppService({ catalogPath, dataHome: join(dir, `${name}-home`) });
  services.push(s);
  return s;
}

test('a tampered pack is a bad request that names the file; a good one is imported', async () => {
  const app = await service('a');
  const tampered = join(dir, 'tampered');
  makePack(tampered, 'tampered-pack');
  writeFileSync(join(tampered, 'encoder.onnx'), 'changed after the manifest was written');
  const bad = await dispatch(app, 'importPack', [tampered], context);
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'bad-request');
  assert.match(!bad.ok ? bad.error.message : '', /encoder\.onnx/);

  const good = join(dir, 'good');
  makePack(good, 'good-pack');
  const ok = await dispatch(app, 'importPack', [good], context);
  assert.ok(ok.ok, JSON.stringify(ok));
  assert.ok((ok.value as { packs: { id: string }[] }).packs.some((p) => p.id === 'good-pack'), 'the catalog now lists it');
});

test("a failure of the host's own storage is an internal error, not the pack's fault", async () => {
  const app = await service('b');
  writeFileSync(join(dir, 'b-home'), 'a file where the data home folder should be');
  const good = join(dir, 'good-b');
  makePack(good, 'good-pack-b');
  logged.length = 0;
  const r = await dispatch(app, 'importPack', [good], context);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.error.code, 'internal');
  assert.ok(logged.some((l) => /ENOTDIR|EEXIST/.test(l)), `the cause is logged: ${logged.join(' | ')}`);
});
