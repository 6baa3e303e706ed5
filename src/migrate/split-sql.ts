// Splits a migration file into statements: the transports lazydb runs over take one statement per
// request (Neon over HTTP, PlanetScale, libSQL's execute, prepared statements), so a file is sent
// statement by statement inside its transaction. Quotes, comments and Postgres dollar quotes never
// split; a CREATE TRIGGER / FUNCTION / PROCEDURE body (BEGIN … END, SQLite, MySQL, Postgres BEGIN ATOMIC)
// is kept whole.

const WORD = /[A-Za-z_][A-Za-z0-9_$]*/y
const DOLLAR_TAG = /\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/y
/** A statement whose body may hold `;` between BEGIN and END. */
const COMPOUND = new RegExp(
  '^\\s*create\\s+(?:or\\s+replace\\s+)?(?:temp\\s+|temporary\\s+)?(?:definer\\s*=\\s*\\S+\\s+)?' +
    '(?:trigger|function|procedure|event)\\b',
  'i',
)
/** `END IF`, `END LOOP` … close a block that opened without BEGIN. */
const END_OF_OTHER = /^\s+(?:if|loop|while|repeat)\b/i

/** Skips a quoted run starting at `i` (the opening quote); a doubled quote stays inside. */
function skipQuoted(sql: string, i: number, quote: string): number {
  let j = i + 1
  while (j < sql.length) {
    if (sql[j] === '\\' && quote === "'") j += 2
    else if (sql[j] === quote) {
      if (sql[j + 1] !== quote) return j + 1
      j += 2
    } else j++
  }
  return j
}

/**
 * The statements of a SQL file, in order, without their terminating `;`; empty and comment-only ones left out.
 * @example splitSql("create table a (x int); -- done\ninsert into a values (1);") // two statements
 */
export function splitSql(sql: string): string[] {
  const statements: string[] = []
  let start = 0
  let depth = 0
  let compound: boolean | undefined
  let meaningful = false
  let i = 0
  const end = (at: number) => {
    const text = sql.slice(start, at).trim()
    if (meaningful && text !== '') statements.push(text)
    start = at + 1
    depth = 0
    compound = undefined
    meaningful = false
  }
  while (i < sql.length) {
    const c = sql[i]!
    if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i)
      i = nl === -1 ? sql.length : nl + 1
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2)
      i = close === -1 ? sql.length : close + 2
    } else if (c === "'" || c === '"' || c === '`') {
      meaningful = true
      i = skipQuoted(sql, i, c)
    } else if (c === '$') {
      meaningful = true
      DOLLAR_TAG.lastIndex = i
      const tag = DOLLAR_TAG.exec(sql)?.[0]
      if (tag === undefined) i++
      else {
        const close = sql.indexOf(tag, i + tag.length)
        i = close === -1 ? sql.length : close + tag.length
      }
    } else if (c === ';') {
      if (depth <= 0) end(i)
      i++
    } else if (/[A-Za-z_]/.test(c) && (i === 0 || !/[A-Za-z0-9_$]/.test(sql[i - 1]!))) {
      meaningful = true
      WORD.lastIndex = i
      const word = WORD.exec(sql)![0]
      compound ??= COMPOUND.test(sql.slice(i, i + 200))
      if (compound) {
        const upper = word.toUpperCase()
        if (upper === 'BEGIN' || upper === 'CASE') depth++
        else if (upper === 'END' && !END_OF_OTHER.test(sql.slice(i + 3, i + 12))) depth--
      }
      i += word.length
    } else {
      if (!/\s/.test(c)) meaningful = true
      i++
    }
  }
  end(sql.length)
  return statements
}
