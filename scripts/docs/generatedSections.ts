import { renderConfigurationMarkdown } from '../../src/shared/config/reference.js';
import { renderLanguagesMarkdown } from '../../src/shared/languages/renderLanguagesMarkdown.js';
import { renderProblemCatalogueMarkdown } from '../../src/shared/problems/renderProblemCatalogueMarkdown.js';

/** A part of a markdown file written by `npm run docs`, between `<!-- generated:NAME:start -->` and `…:end -->`. */
export interface GeneratedSection {
  /** Relative to the repository root. */
  file: string;
  name: string;
  render(): string;
}

/** Every generated section; add one here and its markers to its file. */
export const GENERATED_SECTIONS: readonly GeneratedSection[] = [
  { file: 'docs/configuration.md', name: 'config', render: renderConfigurationMarkdown },
  { file: 'docs/api.md', name: 'problems', render: renderProblemCatalogueMarkdown },
  { file: 'README.md', name: 'languages', render: renderLanguagesMarkdown },
];
