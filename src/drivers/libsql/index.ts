import { type Client, createClient } from '@libsql/client'
import { Database } from '../../database.js'
import { configError, describeValue, isOptionsObject } from '../../errors.js'
import type { Driver, DriverClient, DriverConfig } from '../contract.js'
import { registerDriver } from '../driver-table.js'
import { LibsqlClient } from './client.js'
import { classifyLibsql } from './errors.js'
import { checkOptions, type LibsqlOptions } from './options.js'

export type { LibsqlOptions } from './options.js'

/**
 * A libSQL database (`file:`, `:memory:`, `libsql://`, `http(s)://`, `ws(s)://`) for a Registry.
 * Importing this subpath also registers the driver for URL-based config.
 * @example
 * import { libsql } from '@lazydb/core/libsql'
 * export const registry = new Registry({ database: libsql(env.DATABASE_URL, { authToken: env.TOKEN }) })
 */
export function libsql(url: string, options?: LibsqlOptions): Database<Client> {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(
      undefined,
      `libsql() options must be an object (got ${describeValue(options)})`,
      'Pass libsql(url, { authToken }) or leave the options out',
    )
  }
  return new Database<Client>({ ...options, url, driver: 'libsql' })
}

/** `file:` databases are created on first use, directory included. */
function ensureDirectory(url: string): void {
  if (!url.startsWith('file:')) return
  const path = url
    .slice('file:'.length)
    .replace(/^\/\/(?=\/)/, '')
    .split('?')[0]!
  const slash = path.lastIndexOf('/')
  if (slash <= 0) return
  const fs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
    'node:fs',
  ) as { mkdirSync(path: string, options: { recursive: boolean }): void } | undefined
  fs?.mkdirSync(decodeURIComponent(path.slice(0, slash)), { recursive: true })
}

export const libsqlDriver: Driver = {
  name: 'libsql',
  validate: checkOptions,
  async connect(config: DriverConfig): Promise<DriverClient> {
    ensureDirectory(config.url)
    const { createClient: create = createClient, ...options } = config.options as LibsqlOptions
    return new LibsqlClient(create({ ...options, url: config.url }), config)
  },
  classify: classifyLibsql,
}

registerDriver(libsqlDriver)
