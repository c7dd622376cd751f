import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_SECTIONS } from '../../scripts/docs/generatedSections.js';
import { replaceGeneratedSection } from '../../scripts/docs/markers.js';
import { renderDocs } from '../../scripts/docs/renderDocs.js';
import { renderConfigurationMarkdown } from '../../src/shared/config/reference.js';
import { anchorOf, anchorsOf, documentationFiles, proseOf, readDoc, ROOT } from '../helpers/markdown.js';

describe('generated docs', () => {
  it.each(renderDocs(ROOT).map((f) => [f.file, f]))('%s is what npm run docs writes', (file, rendered) => {
    // A plain comparison: a diff of a whole table would bury the one instruction that matters.
    if (rendered.generated !== rendered.committed) expect.fail(`${file} differs from its sources: run npm run docs`);
  });

  it('lists every configuration group in docs/configuration.md', () => {
    const section = GENERATED_SECTIONS.find((s) => s.name === 'config');
    expect(section?.file).toBe('docs/configuration.md');
    const committed = readDoc('docs/configuration.md');
    for (const heading of renderConfigurationMarkdown().match(/^## .+$/gm)!) expect(committed).toContain(heading);
    expect(committed).toContain('| `RESULT_TTL_MS` | `86400000` (1 d) | ms |');
  });

  it('replaces only what lies between a section\'s markers', () => {
    const text = 'before\n<!-- generated:x:start -->\nold\n<!-- generated:x:end -->\nafter\n';
    const once = replaceGeneratedSection(text, 'x', 'new');
    expect(once).toBe('before\n<!-- generated:x:start -->\n\nnew\n\n<!-- generated:x:end -->\nafter\n');
    expect(replaceGeneratedSection(once, 'x', 'new')).toBe(once);
  });

  it('refuses a file without the section\'s markers, rather than losing it', () => {
    expect(() => replaceGeneratedSection('no markers here', 'x', 'new')).toThrow(/generated:x:start/);
    expect(() => replaceGeneratedSection('<!-- generated:x:end -->\n<!-- generated:x:start -->', 'x', 'new')).toThrow(/out of order/);
  });
});

describe('links in README.md and docs/', () => {
  const links = documentationFiles().flatMap((file) =>
    [...proseOf(readDoc(file)).matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z]+:/.test(target))
      .map((target) => [file, target] as const),
  );

  it('finds links to check', () => {
    expect(links.length).toBeGreaterThan(20);
  });

  it.each(links)('%s → %s reaches a file and a heading', (file, target) => {
    const [targetPath, anchor] = target.split('#') as [string, string | undefined];
    const resolved = targetPath ? path.join(path.dirname(file), targetPath) : file;
    expect(existsSync(path.join(ROOT, resolved)), `${resolved} exists`).toBe(true);
    if (anchor) expect([...anchorsOf(readDoc(resolved))], `${resolved} has a heading for #${anchor}`).toContain(anchor);
  });

  it('makes anchors as GitHub does', () => {
    expect(anchorOf('Live output (SSE)')).toBe('live-output-sse');
    expect(anchorOf('The API (v1)')).toBe('the-api-v1');
    expect(anchorOf('Queue and jobs')).toBe('queue-and-jobs');
  });
});
