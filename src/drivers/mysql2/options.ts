import { configError } from '../../errors.js'
import { isTimerMs } from '../../options.js'
import type { DriverConfig } from '../contract.js'
import { poolDefaults, poolMax } from '../pool-defaults.js'
import { reaperSettings } from '../reaper-options.js'

// The options a mysql2 database takes beside its URL, checked without I/O, and the pool options they
// make. Values are never quoted in a message (one may be a secret).

/** lazydb's own options for the mysql2 pool. */
const OWN: Record<string, (value: unknown) => boolean> = {
  max: (v) => Number.isInteger(v) && (v as number) >= 1,
  idleTimeoutMillis: (v) => isTimerMs(v),
  acquireTimeoutMillis: (v) => isTimerMs(v, 1),
  applicationName: (v) => typeof v === 'string' && v !== '' && v.length <= 512,
}

/** mysql2's own names for `max` and `idleTimeoutMillis`, accepted too. */
const ALIASES: Record<string, string> = { connectionLimit: 'max', idleTimeout: 'idleTimeoutMillis' }

/**
 * mysql2 options passed through as given. Left out: what the URL sets (host, port, user, password,
 * database, uri), what lazydb manages (the pool's size and idle timeout, above; `namedPlaceholders`,
 * chosen per statement) and mysql2's server mode.
 */
const PASSED = new Set([
  'authPlugins',
  'bigNumberStrings',
  'charset',
  'compress',
  'connectAttributes',
  'connectTimeout',
  'dateStrings',
  'debug',
  'decimalNumbers',
  'disableEval',
  'enableCleartextPlugin',
  'enableKeepAlive',
  'flags',
  'gracefulEnd',
  'infileStreamFactory',
  'insecureAuth',
  'jsonStrings',
  'keepAliveInitialDelay',
  'localAddress',
  'maxIdle',
  'maxPreparedStatements',
  'multipleStatements',
  'nestTables',
  'password2',
  'password3',
  'queryFormat',
  'queueLimit',
  'resetOnRelease',
  'rowsAsArray',
  'socketPath',
  'ssl',
  'stream',
  'stringifyObjects',
  'supportBigNumbers',
  'timezone',
  'trace',
  'typeCast',
  'waitForConnections',
])

/** Checks a mysql2 database's URL scheme and options; no I/O. Throws CONFIG_INVALID. */
export function checkMysql2Options(config: DriverConfig): void {
  if (!/^mysql:\/\//i.test(config.url)) {
    throw configError(config.alias, 'the mysql2 driver needs a mysql:// URL', 'Use mysql://user:password@host/db')
  }
  for (const [name, value] of Object.entries(config.options)) {
    if (value === undefined || PASSED.has(name) || name === 'reaper') continue
    const own = ALIASES[name] ?? name
    const ok = OWN[own]
    if (ok === undefined) {
      throw configError(
        config.alias,
        `unknown mysql2 option ${name}`,
        `Pass a mysql2 connection option (ssl, timezone, …) or one of lazydb's: ${Object.keys(OWN).join(', ')}`,
      )
    }
    if (!ok(value)) {
      throw configError(config.alias, `the mysql2 option ${name} has an invalid value (${typeof value})`, fixFor(own))
    }
    if (own !== name && config.options[own] !== undefined && config.options[own] !== value) {
      throw configError(config.alias, `${name} and ${own} disagree`, `Pass one of them`)
    }
  }
  const attributes = config.options.connectAttributes
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null)) {
    throw configError(
      config.alias,
      'connectAttributes must be an object',
      'Pass e.g. { connectAttributes: { k: "v" } }',
    )
  }
  poolMax(withOwnNames(config))
  reaperSettings(config)
}

function fixFor(option: string): string {
  switch (option) {
    case 'max':
      return 'Pass a whole number ≥ 1, e.g. { max: 5 }'
    case 'applicationName':
      return 'Pass a short non-empty string, e.g. { applicationName: "orders-api" }'
    default:
      return `Pass a number of milliseconds, e.g. { ${option}: 10000 }`
  }
}

/** The config with mysql2's names for the pool's size and idle timeout read as lazydb's. */
function withOwnNames(config: DriverConfig): DriverConfig {
  const options = { ...config.options }
  for (const [alias, own] of Object.entries(ALIASES)) if (options[own] === undefined) options[own] = options[alias]
  return { ...config, options }
}

/** How long a checkout may wait for a busy pool's connection before TIMEOUT. */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000

/** What lazydb itself does with the pool: size, idle timeout, how long a checkout may queue, the reaper tag. */
export interface PoolSettings {
  max: number
  idleTimeoutMillis: number
  acquireTimeoutMillis: number
  /** `program_name` in the connection attributes every connection sends at connect. */
  applicationName: string
}

export function poolSettings(config: DriverConfig): PoolSettings {
  const own = withOwnNames(config)
  const idle = own.options.idleTimeoutMillis
  const acquire = own.options.acquireTimeoutMillis
  const name = own.options.applicationName
  return {
    max: poolMax(own),
    idleTimeoutMillis: typeof idle === 'number' ? idle : poolDefaults(own).idleTimeoutMillis,
    acquireTimeoutMillis: typeof acquire === 'number' ? acquire : DEFAULT_ACQUIRE_TIMEOUT_MS,
    applicationName: typeof name === 'string' ? name : 'lazydb',
  }
}

/**
 * The options given to mysql2's `createPool`: the URL, what the user passed through, and lazydb's
 * defaults where the user set none — BIGINT and DECIMAL as exact strings (`supportBigNumbers`,
 * `bigNumberStrings`), `disableEval` on Workers (no `eval` there), and the `program_name` tag.
 */
export function mysql2PoolOptions(config: DriverConfig, settings: PoolSettings): Record<string, unknown> {
  const options: Record<string, unknown> = {
    ...urlOptions(config.url),
    connectionLimit: settings.max,
    // lazydb closes idle connections itself (mysql2's own timer only runs with maxIdle below the limit).
    maxIdle: settings.max,
    supportBigNumbers: true,
    bigNumberStrings: true,
  }
  if (config.lifetime?.platform === 'cloudflare') options.disableEval = true
  for (const [name, value] of Object.entries(config.options))
    if (PASSED.has(name) && value !== undefined) options[name] = value
  options.connectAttributes = {
    program_name: settings.applicationName,
    ...(config.options.connectAttributes as Record<string, unknown> | undefined),
  }
  return options
}

/**
 * Host, port, user, password and database from the URL, and the mysql2 options among its query
 * parameters (JSON where they parse as JSON, as mysql2 reads them). Other parameters (`sslmode` in a
 * Hyperdrive URL) are left out rather than handed to mysql2, which would print a warning for each.
 */
export function urlOptions(url: string): Record<string, unknown> {
  const parsed = new URL(url)
  const host = decodeURIComponent(parsed.hostname)
  const options: Record<string, unknown> = {
    host: host.startsWith('[') ? host.slice(1, -1) : host,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  }
  for (const [key, value] of parsed.searchParams) {
    if (!PASSED.has(key)) continue
    try {
      options[key] = JSON.parse(value)
    } catch {
      options[key] = value
    }
  }
  return options
}
