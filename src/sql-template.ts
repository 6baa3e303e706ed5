import { argumentError } from './errors.js'
import type { DriverName } from './types.js'

export type PlaceholderStyle = 'dollar' | 'question'

const cache = {
  dollar: new WeakMap<TemplateStringsArray, string>(),
  question: new WeakMap<TemplateStringsArray, string>(),
}

/** Postgres drivers take `$1…`; MySQL and SQLite drivers `?`. */
export function placeholderStyle(driver: DriverName): PlaceholderStyle {
  return driver === 'neon-http' || driver === 'neon-ws' || driver === 'pg' || driver === 'postgres'
    ? 'dollar'
    : 'question'
}

/**
 * The SQL text of a tagged template with the driver's placeholders (`$1…` or `?`) where the values
 * were. Values are bound as parameters, never spliced. The text is cached per call site.
 */
export function templateText(strings: TemplateStringsArray, style: PlaceholderStyle, alias: string): string {
  const known = cache[style].get(strings)
  if (known !== undefined) return known
  if (!Array.isArray(strings) || !Array.isArray((strings as TemplateStringsArray).raw)) {
    throw argumentError(
      'sql',
      'it is a tagged template, not a function',
      'Write db.sql`select * from t where id = $' + '{id}` (no parentheses)',
      alias,
    )
  }
  let text = strings[0] ?? ''
  for (let i = 1; i < strings.length; i++) text += (style === 'dollar' ? `$${i}` : '?') + strings[i]
  cache[style].set(strings, text)
  return text
}
