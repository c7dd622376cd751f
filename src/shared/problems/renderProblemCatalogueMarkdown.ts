import { PROBLEM_CATALOGUE } from './problemCatalogue.js';

/** A table cell's text: a `|` would end the cell. */
const cell = (text: string) => text.replaceAll('|', '\\|');

/** The problem types as a markdown table, for the generated docs. */
export function renderProblemCatalogueMarkdown(): string {
  const rows = PROBLEM_CATALOGUE.map((kind) => `| \`${kind.type}\` | ${kind.status} | ${cell(kind.title)} | ${cell(kind.description)} | ${kind.retryAfter ? 'yes' : 'no'} |`);
  return ['| Type | Status | Title | When | Retry-After |', '| --- | --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}
