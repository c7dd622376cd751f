import { z } from 'zod';

/** Building blocks shared by the setting groups. */
export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().min(0);

/** `a,b,c` as a trimmed list without empty entries. */
export function commaList(defaultValue: string) {
  return z
    .string()
    .default(defaultValue)
    .transform((s) => s.split(',').map((item) => item.trim()).filter(Boolean));
}
