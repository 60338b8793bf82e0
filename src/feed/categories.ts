import { UserError } from '../errors.js';
import { editDistance } from '../text/editDistance.js';
import { ARXIV_CATEGORIES } from './arxivCategories.js';

export { ARXIV_CATEGORIES };

const BY_LOWER_CASE = new Map(Object.keys(ARXIV_CATEGORIES).map((code) => [code.toLowerCase(), code]));

/**
 * The canonical arXiv code for what a user typed (`cs.cl` → `cs.CL`); a UserError naming the closest codes when
 * arXiv has no such category.
 */
export function validateCategory(typed: string): string {
  const trimmed = typed.trim();
  const code = BY_LOWER_CASE.get(trimmed.toLowerCase());
  if (code) return code;
  const shown = trimmed.length > 40 ? `${trimmed.slice(0, 40)}…` : trimmed;
  const close = closestCategories(trimmed, 3);
  throw new UserError(
    `"${shown}" is not an arXiv category${close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''} (see https://arxiv.org/category_taxonomy)`,
  );
}

/** Categories whose code or name starts with (or contains) what was typed, for autocomplete; codes first. */
export function suggestCategories(typed: string, limit: number): { code: string; name: string }[] {
  const query = typed.trim().toLowerCase();
  const entries = Object.entries(ARXIV_CATEGORIES);
  const ranked = entries
    .map(([code, name]) => {
      const lower = code.toLowerCase();
      const rank = lower.startsWith(query) ? 0 : name.toLowerCase().includes(query) ? 1 : lower.includes(query) ? 2 : 3;
      return { code, name, rank };
    })
    .filter((entry) => query === '' || entry.rank < 3)
    .sort((left, right) => left.rank - right.rank || left.code.localeCompare(right.code));
  return ranked.slice(0, limit).map(({ code, name }) => ({ code, name }));
}

function closestCategories(typed: string, limit: number): string[] {
  const lower = typed.toLowerCase();
  return [...BY_LOWER_CASE.entries()]
    .map(([key, code]) => ({ code, distance: editDistance(lower, key, 2) }))
    .filter((entry) => entry.distance <= 2)
    .sort((left, right) => left.distance - right.distance || left.code.localeCompare(right.code))
    .slice(0, limit)
    .map((entry) => entry.code);
}
