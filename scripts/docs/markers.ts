/** The comments around a generated section; markdown renderers show neither. */
export function markersOf(name: string): { start: string; end: string } {
  return { start: `<!-- generated:${name}:start -->`, end: `<!-- generated:${name}:end -->` };
}

/** `text` with the section `name` replaced by `content`; throws when its markers are missing or out of order. */
export function replaceGeneratedSection(text: string, name: string, content: string): string {
  const { start, end } = markersOf(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the markers ${start} … ${end} are missing or out of order`);
  if (text.indexOf(start, from + 1) >= 0) throw new Error(`${start} appears more than once`);
  return `${text.slice(0, from + start.length)}\n\n${content.trim()}\n\n${text.slice(to)}`;
}
