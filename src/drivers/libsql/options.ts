import type { createClient } from '@libsql/client'
import type { DatabaseOptions } from '../../database-config.js'
import { configError, describeValue } from '../../errors.js'
import { isTimerMs } from '../../options.js'
import type { DriverConfig } from '../contract.js'

/**
 * Options for `libsql()`: everything `createClient` takes besides `url`, lazydb's own, and
 * `createClient` itself to pick a build (e.g. from `@libsql/client/web`).
 */
export type LibsqlOptions = Omit<DatabaseOptions, 'url' | 'driver'> & { createClient?: typeof createClient }

const isString = (v: unknown) => typeof v === 'string'
const isBoolean = (v: unknown) => typeof v === 'boolean'
const isFunction = (v: unknown) => typeof v === 'function'
const isAtLeastZero = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0

/** The options `createClient` takes besides `url` (and lazydb's `createClient`), with what each must be. */
const OPTIONS: Record<string, [ok: (value: unknown) => boolean, expected: string]> = {
  authToken: [isString, 'a string'],
  encryptionKey: [isString, 'a string'],
  remoteEncryptionKey: [isString, 'a string'],
  syncUrl: [isString, 'a string'],
  syncInterval: [isAtLeastZero, 'a number of seconds ≥ 0'],
  readYourWrites: [isBoolean, 'a boolean'],
  offline: [isBoolean, 'a boolean'],
  tls: [isBoolean, 'a boolean'],
  intMode: [(v) => v === 'number' || v === 'bigint' || v === 'string', '"number", "bigint" or "string"'],
  fetch: [isFunction, 'a function'],
  concurrency: [isAtLeastZero, 'a number ≥ 0'],
  timeout: [(v) => isTimerMs(v), 'a number of milliseconds ≥ 0 and at most 2147483647'],
  createClient: [isFunction, 'a function'],
}

/** Checks the libSQL options; no I/O. The value itself is never quoted: it may be a token or key. */
export function checkOptions(config: DriverConfig): void {
  for (const [name, [ok, expected]] of Object.entries(OPTIONS)) {
    const value = config.options[name]
    if (value !== undefined && !ok(value)) {
      throw configError(
        config.alias,
        `the libSQL option ${name} must be ${expected} (got ${describeValue(value)})`,
        `Pass ${name} as ${expected}, or leave it out`,
      )
    }
  }
}
