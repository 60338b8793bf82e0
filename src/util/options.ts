/**
 * `options` without its `undefined` values. Spreading options over defaults (`{ ...DEFAULTS, ...options }`) would
 * otherwise let an explicit `undefined` (a CLI flag not given, an optional field passed through) replace a default,
 * which TypeScript's spread typing does not flag.
 */
export function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}
