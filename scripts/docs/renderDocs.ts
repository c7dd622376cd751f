import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATED_SECTIONS, type GeneratedSection } from './generatedSections.js';
import { replaceGeneratedSection } from './markers.js';

/** A file as committed and as `npm run docs` would write it. */
export interface RenderedFile {
  file: string;
  committed: string;
  generated: string;
}

/** Every file that holds generated sections, with all of its sections rendered. */
export function renderDocs(root: string, sections: readonly GeneratedSection[] = GENERATED_SECTIONS): RenderedFile[] {
  const files = [...new Set(sections.map((s) => s.file))];
  return files.map((file) => {
    const committed = readFileSync(path.join(root, file), 'utf8');
    const generated = sections
      .filter((s) => s.file === file)
      .reduce((text, s) => {
        try {
          return replaceGeneratedSection(text, s.name, s.render());
        } catch (error) {
          throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
        }
      }, committed);
    return { file, committed, generated };
  });
}
