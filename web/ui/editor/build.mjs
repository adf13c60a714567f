// Builds the editor bundle: node build.mjs [outfile]. `make ui` writes the
// committed ../static/js/vendor/promql-editor.js; the bundle test builds to
// a temporary file and compares.
import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';

// The bundle names every package in it with its licence, read from the
// pinned node_modules (sorted, so the bundle is reproducible).
function packages(dir = 'node_modules', scope = '') {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      out.push(...packages(`${dir}/${name}`, name + '/'));
      continue;
    }
    try {
      const p = JSON.parse(readFileSync(`${dir}/${name}/package.json`, 'utf8'));
      if (!(p.name || '').startsWith('esbuild') && !(p.name || '').startsWith('@esbuild/')) out.push(`${p.name} ${p.version} (${p.license})`);
    } catch {
      // not a package
    }
  }
  return out;
}

const outfile = process.argv[2] || '../static/js/vendor/promql-editor.js';
await build({
  entryPoints: ['src/editor.js'],
  bundle: true,
  format: 'esm',
  minify: true,
  legalComments: 'eof',
  target: 'es2020',
  outfile,
  logLevel: 'warning',
  banner: { js: `/* SMM Appliance PromQL editor, built by make ui from web/ui/editor. Contains: ${packages().join(', ')}. */` },
});
