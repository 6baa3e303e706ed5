// The migration files of one alias, read from disk (Node only: this is why migrations are a subpath).
import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { argumentError } from '../errors.js'

/** One migration file: its name (the history key), the SHA-256 of its text, and the text. */
export interface MigrationFile {
  name: string
  checksum: string
  sql: string
}

const NAME = /^(\d+)_[A-Za-z0-9_.-]+\.sql$/

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** Line endings normalised first, so a checkout with CRLF endings keeps the same checksum. */
export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex')
}

/**
 * The folder of an alias: `<dir>/<alias>/`; for the default database `<dir>/default/` when it
 * exists, else `<dir>/` itself. Undefined when there is none.
 */
export async function folderOf(dir: string, alias: string): Promise<string | undefined> {
  if (!(await isDirectory(dir))) {
    throw argumentError('migrate', `no migrations folder at ${JSON.stringify(dir)}`, 'Pass { dir } pointing at it')
  }
  const own = join(dir, alias)
  if (await isDirectory(own)) return own
  return alias === 'default' ? dir : undefined
}

/** The files of an alias, ordered by their number; a misnamed `.sql` file or a repeated number is refused. */
export async function migrationFiles(dir: string, alias: string): Promise<MigrationFile[]> {
  const folder = await folderOf(dir, alias)
  if (folder === undefined) return []
  const names = (await readdir(folder, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
    .map((entry) => entry.name)
  const numbered = new Map<bigint, string>()
  for (const name of names) {
    const match = NAME.exec(name)
    if (match === null) {
      throw argumentError(
        'migrate',
        `the file ${join(folder, name)} is not named like NNNN_name.sql`,
        'Rename it (digits, an underscore, letters/digits/._-, .sql), e.g. 0001_create_users.sql',
        alias,
      )
    }
    const number = BigInt(match[1]!)
    const other = numbered.get(number)
    if (other !== undefined) {
      throw argumentError(
        'migrate',
        `${other} and ${name} in ${folder} have the same number`,
        'Give each file its own number',
        alias,
      )
    }
    numbered.set(number, name)
  }
  const ordered = [...numbered.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, name]) => name)
  return Promise.all(
    ordered.map(async (name) => {
      const sql = await readFile(join(folder, name), 'utf8')
      return { name, checksum: checksumOf(sql), sql }
    }),
  )
}
