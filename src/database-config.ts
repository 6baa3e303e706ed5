// The one place a database's settings are normalised (as libsql-client's expandConfig does): a URL,
// `{ url, … }` or driver options become a DatabaseConfig, checked without I/O, every problem named
// with its fix, and every secret it holds collected so errors can be masked.
import type { DriverConfig } from './drivers/contract.js'
import { configError, describeValue, isOptionsObject, quoted } from './errors.js'
import { checkDatabaseIdleTimeout } from './options.js'
import { registeredDriver } from './drivers/driver-table.js'
import { type ConnectionStringBinding, fromBinding, isConnectionStringBinding } from './hyperdrive.js'
import { Secrets } from './secrets.js'
import type { DriverName, Scope } from './types.js'
import { CREDENTIAL_NAME, driverAcceptsUrl, driverForUrl, urlSecrets } from './url.js'

/** A database given as an object: `url` plus optional overrides and driver options. */
export interface DatabaseOptions {
  /** The connection URL, or a Hyperdrive binding (`env.HYPERDRIVE`) whose connectionString is used. */
  url: string | ConnectionStringBinding
  /** Overrides the driver the URL's scheme selects. */
  driver?: DriverName
  /** Overrides the lifetime the platform and transport select. */
  scope?: Scope
  /** Close a warm socket connection idle this long. Default 60 000 ms. */
  idleTimeoutMs?: number
  /** Any other key is passed to the driver (`authToken`, `fetch`, `fetchEndpoint`, `wsProxy`, …). */
  [driverOption: string]: unknown
}

/** A database's settings after normalising. Held only in private fields: it holds the secrets. */
export interface DatabaseConfig extends DriverConfig {
  scope: Scope | undefined
  idleTimeoutMs: number | undefined
}

const DRIVERS: readonly DriverName[] = ['neon-http', 'neon-ws', 'planetscale', 'libsql', 'pg', 'mysql2', 'postgres']
const SCOPES: readonly Scope[] = ['warm', 'request']
const RESERVED = new Set(['url', 'driver', 'scope', 'idleTimeoutMs'])
const URL_FOR: Record<DriverName, string> = {
  'neon-http': 'postgres://',
  'neon-ws': 'postgres://',
  planetscale: 'mysql:// or http(s)://',
  libsql: 'libsql://, http(s)://, ws(s)://, file: or :memory:',
  pg: 'postgres://',
  postgres: 'postgres://',
  mysql2: 'mysql://',
}

export function normalizeDatabase(alias: string, given: unknown): DatabaseConfig {
  const hyperdrive = isConnectionStringBinding(given) || isConnectionStringBinding((given as { url?: unknown })?.url)
  const value = fromBinding(given)
  if (value === undefined || value === null || value === '') {
    throw configError(
      alias,
      `no URL was given (got ${describeValue(value)})`,
      'Pass a URL such as "file:.data/app.db" or "postgres://…", or set the environment variable that holds it',
    )
  }
  if (typeof value !== 'string' && !isOptionsObject(value)) {
    throw configError(
      alias,
      `expected a URL string or { url, … } (got ${describeValue(value)})`,
      'Pass a URL string, an object with a url, a Hyperdrive binding, or a database from a driver subpath ' +
        '(@lazydb/core/pg, /mysql2, /postgres, /neon, /planetscale, /libsql)',
    )
  }
  const input: DatabaseOptions = typeof value === 'string' ? { url: value } : (value as DatabaseOptions)
  const url = input.url
  if (typeof url !== 'string' || url.trim() === '') {
    throw configError(
      alias,
      `"url" must be a non-empty string (got ${describeValue(url)})`,
      'Set url to the connection URL',
    )
  }
  const secrets = new Secrets(urlSecrets(url))
  const options: Record<string, unknown> = {}
  for (const [key, option] of Object.entries(input)) {
    if (RESERVED.has(key)) continue
    options[key] = secretOption(key, option, secrets)
  }
  const driver = pickDriver(alias, url, input.driver)
  if (driver === 'libsql' && /^(libsql|https?|wss?):\/\/[^/?#]*@/i.test(url)) {
    throw configError(
      alias,
      'a libSQL URL cannot carry a user or password',
      'Remove them from the URL and pass the token as { url, authToken } (or ?authToken=…)',
    )
  }
  if (input.scope !== undefined && !SCOPES.includes(input.scope)) {
    throw configError(alias, `unknown scope ${quoted(input.scope)}`, 'Use "warm" or "request"')
  }
  const idleTimeoutMs = checkDatabaseIdleTimeout(alias, input.idleTimeoutMs)
  const config: DatabaseConfig = { alias, driver, url, options, secrets, scope: input.scope, idleTimeoutMs }
  if (hyperdrive) config.hyperdrive = true
  return config
}

function pickDriver(alias: string, url: string, named: unknown): DriverName {
  const checked = driverForUrl(url)
  if (named === undefined) {
    // Another Postgres host goes to pg, or to postgres.js when that is the one imported.
    if (checked.ok && checked.driver === 'pg' && !registeredDriver('pg') && registeredDriver('postgres')) {
      return 'postgres'
    }
    if (checked.ok) return checked.driver
    throw configError(alias, `the URL ${checked.problem}`, 'Fix the URL, or name the driver with { url, driver }')
  }
  if (!DRIVERS.includes(named as DriverName)) {
    throw configError(alias, `unknown driver ${quoted(named)}`, `Use one of ${DRIVERS.join(', ')}`)
  }
  const driver = named as DriverName
  if (!checked.ok && !url.includes('://')) throw configError(alias, `the URL ${checked.problem}`, 'Fix the URL')
  if (!driverAcceptsUrl(driver, url)) {
    throw configError(
      alias,
      `the ${driver} driver cannot use a URL of this scheme`,
      `Give ${driver} a ${URL_FOR[driver]} URL, or drop the driver option`,
    )
  }
  return driver
}

/**
 * A credential-looking option (`authToken`, `password`, `encryptionKey`, …) joins the secrets; a
 * token given as a function is wrapped so that what it returns joins them too. One wrapper per
 * function, whichever registry gives it: the warm cache keys functions by identity, so databases
 * configured alike still share one client, and each of them masks every token that function returned.
 */
function secretOption(key: string, option: unknown, secrets: Secrets): unknown {
  if (!CREDENTIAL_NAME.test(key)) return option
  if (typeof option === 'string') secrets.add(option)
  if (typeof option !== 'function') return option
  let wrapped = tokenWrappers.get(option)
  if (wrapped === undefined) {
    wrapped = maskedToken(option as (...args: unknown[]) => unknown)
    tokenWrappers.set(option, wrapped)
  }
  secrets.link(wrapped.returned)
  return wrapped.call
}

interface WrappedToken {
  readonly call: (...args: unknown[]) => unknown
  readonly returned: Secrets
}

const tokenWrappers = new WeakMap<object, WrappedToken>()

function maskedToken(produce: (...args: unknown[]) => unknown): WrappedToken {
  const returned = new Secrets()
  const call = function maskedToken(this: unknown, ...args: unknown[]): unknown {
    const token = produce.apply(this, args)
    if (typeof (token as PromiseLike<unknown> | undefined)?.then === 'function') {
      return Promise.resolve(token).then((resolved) => (returned.add(resolved), resolved))
    }
    returned.add(token)
    return token
  }
  return { call, returned }
}

const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/

export function checkAlias(alias: unknown): string {
  if (typeof alias !== 'string' || !ALIAS.test(alias)) {
    throw configError(
      undefined,
      `database name ${quoted(alias)} is not valid`,
      'Name extra databases with letters, digits, "_" or "-", starting with a letter or "_"',
    )
  }
  if (alias === 'default')
    throw configError(
      alias,
      '"default" is the name of the main database',
      'Pass it as `database`, and give extras other names',
    )
  return alias
}

const SCHEMA = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** A schema name is an identifier: checked here, quoted by the driver, never spliced unchecked. */
export function checkSchema(schema: unknown, alias: string): string {
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    throw configError(
      alias,
      `schema ${quoted(schema)} is not a valid identifier`,
      'Use letters, digits, "_" or "$", starting with a letter or "_", at most 63 characters',
    )
  }
  return schema
}
