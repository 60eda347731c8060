// The dependency direction, as a rule the test run enforces (tests/unit/layering.test.ts; also runnable as
// `node --import tsx scripts/check-layers.ts`). Every import of every source file (static imports, `import type`,
// re-exports and dynamic imports; Svelte files by their <script> blocks) is resolved and checked against the
// layers below. README "How it is built" states the same rule.
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Violation {
  file: string;
  imports: string;
  rule: string;
}

const SOURCE_DIRS = ['electron', 'renderer/src', 'db', 'native-models', 'bin', 'scripts'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'built', 'build']);
const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** The API contract: pure data and types the renderer, the preload and both hosts share (no Node, no DOM). */
const isContract = (f: string) => f === 'electron/shared/api.ts' || f.startsWith('electron/shared/protocol/');
/** Values and rules every layer agrees on (modes, defaults, image extensions, the likely-matches line); pure. */
const isConstants = (f: string) => f === 'electron/shared/constants.ts' || f === 'electron/shared/likelyMatches.ts';
const isPure = (f: string) => isContract(f) || isConstants(f);
const under = (...prefixes: string[]) => (f: string) => prefixes.some((p) => f.startsWith(p));

type Target = { kind: 'file'; file: string } | { kind: 'package'; name: string };

interface Rule {
  name: string;
  from: (file: string) => boolean;
  forbids: (target: Target, from: string) => boolean;
}

const file = (test: (f: string) => boolean) => (t: Target) => t.kind === 'file' && test(t.file);
const nodeOrElectron = (t: Target) => t.kind === 'package' && (NODE_BUILTINS.has(t.name) || t.name === 'electron');

/** engine/ modules behind the front ends: their types are their own, not derived from the wire contract. */
const ENGINE_INNER = under('electron/engine/ingest/', 'electron/engine/images/', 'electron/engine/models/', 'electron/engine/search/', 'electron/engine/eval/', 'electron/engine/verify/', 'electron/engine/hashsets/');

export const RULES: readonly Rule[] = [
  {
    name: 'the renderer imports only itself, the API contract (electron/shared/api.ts, electron/shared/protocol/) and the constants (electron/shared/constants.ts, likelyMatches.ts), never Node or Electron',
    from: under('renderer/'),
    forbids: (t) => nodeOrElectron(t) || (t.kind === 'file' && !t.file.startsWith('renderer/') && !isPure(t.file)),
  },
  {
    name: 'the API contract and the constants are pure: no Node, no Electron, nothing but themselves',
    from: isPure,
    forbids: (t) => nodeOrElectron(t) || (t.kind === 'file' && !isPure(t.file)),
  },
  {
    name: 'electron/shared never imports a host, the engine or the renderer',
    from: under('electron/shared/'),
    forbids: file(under('electron/main/', 'electron/preload/', 'electron/web/', 'electron/engine/', 'renderer/')),
  },
  {
    name: 'the engine never imports electron/main, electron/preload, electron/web, the renderer or Electron',
    from: under('electron/engine/'),
    forbids: (t) =>
      (t.kind === 'package' && t.name === 'electron') || file(under('electron/main/', 'electron/preload/', 'electron/web/', 'renderer/'))(t),
  },
  {
    name: "the engine's inner modules (ingest, images, models, search, verify, hashsets, eval) do not take their types from the API contract",
    from: ENGINE_INNER,
    forbids: file(isContract),
  },
  {
    name: 'engine/images never imports engine/models (models build on images, not the other way round)',
    from: under('electron/engine/images/'),
    forbids: file(under('electron/engine/models/')),
  },
  {
    name: 'the preload imports only the API contract, the constants and itself (it is bundled into the sandbox)',
    from: under('electron/preload/'),
    forbids: (t) => t.kind === 'file' && !t.file.startsWith('electron/preload/') && !isPure(t.file),
  },
  {
    name: 'the web host never imports the renderer, electron/main or electron/preload',
    from: under('electron/web/'),
    forbids: file(under('renderer/', 'electron/main/', 'electron/preload/')),
  },
  {
    name: 'electron/main never imports the web host or the renderer',
    from: under('electron/main/'),
    forbids: file(under('electron/web/', 'renderer/')),
  },
  {
    name: 'the engine, the hosts and db/ load from native-models/ only native-models/runtime/ (the tools and the packs\' sources are install-time and offline, never packaged)',
    from: under('electron/', 'db/'),
    forbids: file((f) => f.startsWith('native-models/') && !f.startsWith('native-models/runtime/')),
  },
  {
    name: 'native-models/runtime/ never imports native-models/tools/ or a pack\'s sources (native-models/packs/): the app loads it alone',
    from: under('native-models/runtime/'),
    forbids: file(under('native-models/tools/', 'native-models/packs/')),
  },
  {
    name: "native-models/ outside tools/training/ never imports the engine (the engine builds on its runtime); the training tools may, to run the app's own image processor and pooling",
    from: (f) => f.startsWith('native-models/') && !f.startsWith('native-models/tools/training/'),
    forbids: file(under('electron/')),
  },
  {
    name: 'db/ and native-models/ never import a host, the renderer or Electron',
    from: under('db/', 'native-models/'),
    forbids: (t) => (t.kind === 'package' && t.name === 'electron') || file(under('electron/main/', 'electron/preload/', 'electron/web/', 'renderer/'))(t),
  },
];

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(path.join(root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(rel);
      } else if (/\.(ts|mts|mjs|svelte)$/.test(e.name) && !e.name.endsWith('.d.ts') && !e.name.endsWith('.d.mts')) out.push(rel);
    }
  };
  for (const d of SOURCE_DIRS) walk(d);
  return out;
}

// Statements start a line (the house style); block comments are removed first so commented-out code does not count.
const STATIC_FROM = /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE_IMPORT = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Import specifiers of one file (of a Svelte file's <script> blocks). */
export function importsOf(source: string, fileName: string): string[] {
  let code = fileName.endsWith('.svelte') ? [...source.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]).join('\n') : source;
  code = code.replace(/\/\*[\s\S]*?\*\//g, '');
  return [STATIC_FROM, BARE_IMPORT, DYNAMIC].flatMap((re) => [...code.matchAll(re)].map((m) => m[1]));
}

function targetOf(spec: string, from: string): Target {
  if (spec.startsWith('.')) return { kind: 'file', file: path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)) };
  const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  return { kind: 'package', name: spec.startsWith('node:') ? spec : name };
}

/** Every import in the tree under `root` that crosses a layer the wrong way. */
export function checkLayers(root: string, files: string[] = sourceFiles(root)): Violation[] {
  const violations: Violation[] = [];
  for (const f of files) {
    const rules = RULES.filter((r) => r.from(f));
    if (rules.length === 0) continue;
    for (const spec of importsOf(readFileSync(path.join(root, f), 'utf8'), f)) {
      const target = targetOf(spec, f);
      for (const rule of rules) if (rule.forbids(target, f)) violations.push({ file: f, imports: spec, rule: rule.name });
    }
  }
  return violations;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const violations = checkLayers(path.resolve(import.meta.dirname, '..'));
  for (const v of violations) console.error(`${v.file}: imports ${v.imports}: ${v.rule}`);
  console.log(violations.length === 0 ? 'layers: ok' : `layers: ${violations.length} violation(s)`);
  process.exitCode = violations.length === 0 ? 0 : 1;
}
