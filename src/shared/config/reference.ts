import { settingRegistry, type SettingGroup, type SettingMeta } from './setting.js';
import { configSchema, SETTING_GROUPS } from './schema.js';

/** One row of the configuration reference. */
export interface SettingReference extends SettingMeta {
  name: string;
  group: string;
  /** The default as shown: `unset` when there is none. */
  shownDefault: string;
}

/** Every setting with its documentation, group by group; throws if one has none. */
export function settingReferences(groups: readonly SettingGroup[] = SETTING_GROUPS): SettingReference[] {
  // The defaults as the loader applies them to an empty environment.
  const defaults: Record<string, unknown> = configSchema.parse({});
  return groups.flatMap((group) =>
    Object.entries(group.settings).map(([name, schema]) => {
      const meta = settingRegistry.get(schema);
      if (!meta) throw new Error(`${name} has no description: wrap its schema in setting()`);
      return { ...meta, name, group: group.title, shownDefault: meta.shownDefault ?? formatDefault(defaults[name], meta.unit) };
    }),
  );
}

function formatDefault(value: unknown, unit: SettingMeta['unit']): string {
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return 'unset';
  if (Array.isArray(value)) return `\`${value.join(',')}\``;
  const plain = `\`${String(value)}\``;
  if (typeof value !== 'number') return plain;
  const readable = unit === 'ms' ? readableDuration(value) : unit === 'bytes' ? readableSize(value) : undefined;
  return readable ? `${plain} (${readable})` : plain;
}

function readableDuration(ms: number): string | undefined {
  const steps: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
  for (const [size, name] of steps) if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  return undefined;
}

function readableSize(bytes: number): string | undefined {
  const steps: [number, string][] = [[1024 ** 3, 'GiB'], [1024 ** 2, 'MiB'], [1024, 'KiB']];
  for (const [size, name] of steps) if (bytes >= size && bytes % size === 0) return `${bytes / size} ${name}`;
  return undefined;
}

/** A table cell: pipes would end the cell, newlines the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

/** The configuration reference: one markdown table per group. */
export function renderConfigurationMarkdown(groups: readonly SettingGroup[] = SETTING_GROUPS): string {
  const rows = settingReferences(groups);
  return groups
    .map((group) => {
      const lines = [
        `## ${group.title}`,
        '',
        group.summary,
        '',
        '| Variable | Default | Unit | Description |',
        '|---|---|---|---|',
        ...rows.filter((row) => row.group === group.title).map((row) => `| \`${row.name}\` | ${cell(row.shownDefault)} | ${row.unit ?? ''} | ${cell(row.description)} |`),
      ];
      return lines.join('\n');
    })
    .join('\n\n');
}
