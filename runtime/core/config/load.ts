import { readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import type { TSchema, Static } from 'typebox';
import { AppError } from '../errors.js';

/** Deep merge of plain objects (arrays and scalars replace). */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/**
 * Validates raw config against a schema: applies defaults, converts strings from env ("8080" → 8080),
 * and fails with ONE error listing every bad field.
 */
export function parseConfig<S extends TSchema>(schema: S, raw: unknown, source = 'config'): Readonly<Static<S>> {
  const withDefaults = Value.Default(schema, Value.Clone(raw ?? {}));
  const converted = Value.Convert(schema, withDefaults);
  const errors = Value.Errors(schema, converted);
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.instancePath || '/'} ${e.message}`);
    const unique = [...new Set(lines)];
    throw new AppError('CONFIG_INVALID', `Invalid ${source}:\n${unique.join('\n')}`);
  }
  return Object.freeze(converted as Static<S>);
}

/** Reads a JSON config file (if a path is given and exists) and merges overrides on top. */
export function loadConfig<S extends TSchema>(
  schema: S,
  opts: { file?: string; overrides?: Record<string, unknown>; required?: boolean },
): Readonly<Static<S>> {
  let fromFile: Record<string, unknown> = {};
  if (opts.file) {
    try {
      fromFile = JSON.parse(readFileSync(opts.file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || opts.required) {
        throw new AppError('CONFIG_INVALID', `cannot read config file ${opts.file}: ${(err as Error).message}`, {}, { cause: err });
      }
    }
  }
  const merged = deepMerge(fromFile, opts.overrides ?? {});
  return parseConfig(schema, merged, opts.file ? `config (${opts.file})` : 'config');
}
