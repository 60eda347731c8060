// `npm run web -- [--catalog <file>] [--port N] [--data-home <dir>]`: serves the UI and QuariApi on 127.0.0.1.
// Prints QUARI_WEB_URL=<url with session token> once serving; Ctrl-C closes the catalog cleanly.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDataHome } from '../../native-models/runtime/packs/registry.ts';
import { serveWeb } from './serve.ts';

const USAGE = `usage: npm run web -- [--catalog <file>] [--port N] [--data-home <dir>]
  --catalog    catalog file to open or create (default: $QUARI_CATALOG, else catalogs/default.quari in the data home)
  --port       loopback port (default: a free one)
  --data-home  folder for model packs and application data (default: $QUARI_HOME, else ~/.local/share/quari-workstation)`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { catalog: { type: 'string' }, port: { type: 'string' }, 'data-home': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer from 0 to 65535, got "${values.port}"\n${USAGE}`);
    return 2;
  }
  const dataHome = values['data-home'] ? path.resolve(values['data-home']) : undefined;
  // Never the current folder by default: that is usually the checkout (or an evidence folder).
  const catalogPath = path.resolve(values.catalog ?? process.env.QUARI_CATALOG ?? path.join(dataHome ?? defaultDataHome(), 'catalogs', 'default.quari'));
  mkdirSync(path.dirname(catalogPath), { recursive: true });

  const served = await serveWeb({ catalogPath, port, dataHome });
  console.log(`QUARI_WEB_URL=${served.host.url}`);
  console.error(`quari web: serving ${catalogPath} on 127.0.0.1:${served.host.port} (Ctrl-C to stop)`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await served.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`quari web: ${(err as Error).message}`);
    process.exitCode = 1;
  },
);
