import { z } from 'zod';

/** The unit a setting's number is in; the name says it too (`_MS`, `_BYTES`), but for the request-limit mirrors. */
export type SettingUnit = 'ms' | 'bytes' | 'MiB' | 'CPUs' | 'per minute' | 'per second' | 'port';

/** What the configuration reference says of one environment variable. */
export interface SettingMeta {
  description: string;
  unit?: SettingUnit;
  /**
   * The default as the reference shows it, for defaults that depend on the
   * host (CPU count, temporary directory) or are not a value of their own.
   * @defaultValue the schema's default, as parsed from an empty environment
   */
  shownDefault?: string;
}

/** Every documented setting's metadata, keyed by its schema. */
export const settingRegistry = z.registry<SettingMeta>();

/** A schema with its documentation attached: the one place a setting is described. */
export function setting<T extends z.ZodType>(schema: T, meta: SettingMeta): T {
  settingRegistry.add(schema as z.ZodType, meta);
  return schema;
}

/** Settings of one concern, in the order the reference lists them. */
export interface SettingGroup<Shape extends z.ZodRawShape = z.ZodRawShape> {
  title: string;
  /** One or two sentences above the group's table. */
  summary: string;
  settings: Shape;
}

export function settingGroup<Shape extends z.ZodRawShape>(title: string, summary: string, settings: Shape): SettingGroup<Shape> {
  return { title, summary, settings };
}
