import type { ResolvedConfig } from './drivers/driver.js'
import { configError, describeValue, quoted } from './errors.js'
import { secretVariants } from './redact.js'
import type { DriverName, Scope } from './types.js'
import { driverAcceptsUrl, driverForUrl, urlSecrets } from './url.js'

/** A database given as an object: `url` plus optional overrides and driver options. */
export interface DatabaseOptions {
  url: string
  /** Overrides the driver the URL's scheme selects. */
  driver?: DriverName
  /** Overrides the lifetime the platform and transport select. */
  scope?: Scope
  /** Close a warm socket connection idle this long. Default 60 000 ms. */
  idleTimeoutMs?: number
  /** Any other key is passed to the driver (`authToken`, `fetch`, `fetchEndpoint`, `wsProxy`, …). */
  [driverOption: string]: unknown
}

export interface NormalizedDatabase extends ResolvedConfig {
  scope: Scope | undefined
  idleTimeoutMs: number | undefined
}

const DRIVERS: readonly DriverName[] = ['neon-http', 'neon-ws', 'planetscale', 'libsql']
const SCOPES: readonly Scope[] = ['warm', 'request']
const SECRET_OPTIONS = ['authToken', 'password', 'token', 'apiKey']
const RESERVED = new Set(['url', 'driver', 'scope', 'idleTimeoutMs'])

/** The one place a database's settings are checked: no I/O, every problem named with its fix. */
export function normalizeDatabase(alias: string, value: unknown): NormalizedDatabase {
  if (value === undefined || value === null || value === '') {
    throw configError(alias, `no URL was given (got ${describeValue(value)})`, 'Pass a URL such as "file:.data/app.db" or "postgres://…", or set the environment variable that holds it')
  }
  const input: DatabaseOptions = typeof value === 'string' ? { url: value } : (value as DatabaseOptions)
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw configError(alias, `expected a URL string or { url, … } (got ${describeValue(value)})`, 'Pass a URL string, an object with a url, or a database from lazydb/neon, lazydb/planetscale or lazydb/libsql')
  }
  const url = input.url
  if (typeof url !== 'string' || url.trim() === '') {
    throw configError(alias, `"url" must be a non-empty string (got ${describeValue(url)})`, 'Set url to the connection URL')
  }
  const options: Record<string, unknown> = {}
  const secrets = new Set<string>(urlSecrets(url))
  for (const [key, option] of Object.entries(input)) {
    if (RESERVED.has(key)) continue
    options[key] = option
    if (SECRET_OPTIONS.includes(key) && typeof option === 'string') secrets.add(option)
  }
  const checked = driverForUrl(url)
  let driver: DriverName
  if (input.driver !== undefined) {
    if (!DRIVERS.includes(input.driver)) {
      throw configError(alias, `unknown driver ${quoted(input.driver)}`, `Use one of ${DRIVERS.join(', ')}`)
    }
    if (!checked.ok && !url.includes('://')) throw configError(alias, `the URL ${checked.problem}`, 'Fix the URL')
    if (!driverAcceptsUrl(input.driver, url)) throw configError(alias, `the ${input.driver} driver cannot use a URL of this scheme`, `Give ${input.driver} a ${input.driver === 'planetscale' ? 'mysql:// or http(s)://' : input.driver === 'libsql' ? 'libsql://, http(s)://, ws(s)://, file: or :memory:' : 'postgres://'} URL, or drop the driver option`)
    driver = input.driver
  } else if (checked.ok) {
    driver = checked.driver
  } else {
    throw configError(alias, `the URL ${checked.problem}`, 'Fix the URL, or name the driver with { url, driver }')
  }
  if (driver === 'libsql' && /^(libsql|https?|wss?):\/\/[^/?#]*@/i.test(url)) {
    throw configError(alias, 'a libSQL URL cannot carry a user or password', 'Remove them from the URL and pass the token as { url, authToken } (or ?authToken=…)')
  }
  if (input.scope !== undefined && !SCOPES.includes(input.scope)) {
    throw configError(alias, `unknown scope ${quoted(input.scope)}`, 'Use "warm" or "request"')
  }
  const idle = input.idleTimeoutMs
  if (idle !== undefined && (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0)) {
    throw configError(alias, `idleTimeoutMs must be a number of milliseconds ≥ 0 (got ${describeValue(idle)})`, 'Pass e.g. idleTimeoutMs: 60000')
  }
  return {
    alias,
    driver,
    url,
    options,
    secrets: [...secrets].flatMap(secretVariants),
    scope: input.scope,
    idleTimeoutMs: idle,
  }
}

const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/

export function checkAlias(alias: unknown): string {
  if (typeof alias !== 'string' || !ALIAS.test(alias)) {
    throw configError(undefined, `database name ${quoted(alias)} is not valid`, 'Name extra databases with letters, digits, "_" or "-", starting with a letter or "_"')
  }
  if (alias === 'default') throw configError(alias, '"default" is the name of the main database', 'Pass it as `database`, and give extras other names')
  return alias
}

const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** A schema name is an identifier: checked here, quoted by the driver, never spliced unchecked. */
export function checkSchema(schema: unknown, alias: string): string {
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    throw configError(alias, `schema ${quoted(schema)} is not a valid identifier`, 'Use letters, digits, "_" or "$", starting with a letter or "_", at most 63 characters')
  }
  return schema
}
