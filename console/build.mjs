// Builds the web console into OUTDIR (argument): the bundle and its stylesheet under assets/
// with content-hashed names (served as immutable), the map data likewise, and index.html
// pointing at them (revalidated on every load). Run by the project's build (CMakeLists.txt).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2];
if (!outdir) {
  console.error('usage: node build.mjs OUTDIR');
  process.exit(2);
}
const require = createRequire(import.meta.url);

rmSync(outdir, { recursive: true, force: true });
mkdirSync(join(outdir, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, 'src/main.js') },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'iife',
  target: ['chrome110', 'firefox110'],
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.png': 'dataurl', '.svg': 'dataurl' },
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => '/' + p.slice(p.indexOf('assets/')));
const js = outputs.find((p) => p.endsWith('.js'));
const css = outputs.find((p) => p.endsWith('.css'));

// Country borders and coastlines: Natural Earth 1:50m through world-atlas (TopoJSON), so the
// map needs no tile server and works on an isolated network.
function hashed(name, data) {
  const h = createHash('sha256').update(data).digest('hex').slice(0, 12);
  const file = `assets/${name}-${h}.json`;
  writeFileSync(join(outdir, file), data);
  return '/' + file;
}
const countries = hashed('countries-50m', readFileSync(require.resolve('world-atlas/countries-50m.json')));
const land = hashed('land-50m', readFileSync(require.resolve('world-atlas/land-50m.json')));

const html = readFileSync(join(here, 'src/index.html'), 'utf8')
  .replace('%APP_JS%', js)
  .replace('%APP_CSS%', css)
  .replace('%COUNTRIES%', countries)
  .replace('%LAND%', land);
writeFileSync(join(outdir, 'index.html'), html);
console.log(`console: ${outputs.length + 3} files in ${outdir}`);
