/**
 * `npm run docs`: rewrites every generated section of the docs from its
 * source (see scripts/docs/generatedSections.ts). `--check` writes nothing
 * and exits 1 when a file is out of date.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderDocs } from './docs/renderDocs.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: flags } = parseArgs({ options: { check: { type: 'boolean', default: false } } });

const stale = renderDocs(ROOT).filter((f) => f.generated !== f.committed);
for (const f of stale) {
  if (flags.check) console.error(`${f.file} is out of date: run npm run docs`);
  else writeFileSync(path.join(ROOT, f.file), f.generated);
}
if (!flags.check) console.log(stale.length ? `wrote ${stale.map((f) => f.file).join(', ')}` : 'docs are up to date');
process.exitCode = flags.check && stale.length ? 1 : 0;
