// libSQL's native binding aborts the whole process (a panic, not an error) when a statement with a `?`
// placeholder gets named parameters (an object). Such a call is refused before it reaches the binding.
import { argumentError } from '../../errors.js'

/** Whether the SQL has a positional `?` (or `?NNN`) placeholder outside strings, quoted names and comments. */
export function hasPositionalPlaceholder(sql: string): boolean {
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]
    if (c === '?') return true
    if (c === "'" || c === '"' || c === '`')
      i = sql.indexOf(c, i + 1) // '' inside a string just reopens it
    else if (c === '[') i = sql.indexOf(']', i + 1)
    else if (c === '-' && sql[i + 1] === '-') i = sql.indexOf('\n', i + 2)
    else if (c === '/' && sql[i + 1] === '*') i = sql.indexOf('*/', i + 2) + 1
    if (i < 0) return false
  }
  return false
}

/** INVALID_ARGUMENT for named parameters given to a statement written with `?`. */
export function namedForPositional(alias: string): Error {
  return argumentError(
    'query',
    'the statement uses ? placeholders but params is an object of named values',
    'Pass an array for ? placeholders, or write :name placeholders for an object',
    alias,
  )
}
