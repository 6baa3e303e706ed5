import { argumentError, describeValue, LazyDbError } from '../errors.js'
import { importDriverSubpath } from '../runtime-import.js'
import type { DriverName } from '../types.js'
import type { Driver } from './contract.js'

// Versioned with the Driver interface: a copy of lazydb built against another shape keeps its own table.
const KEY = Symbol.for('lazydb.drivers@3')
type DriverTable = Map<DriverName, Driver>
const g = globalThis as Record<symbol, unknown>
const table: DriverTable = (g[KEY] as DriverTable | undefined) ?? new Map()
g[KEY] = table

/** Where each driver comes from: the subpath that registers it and the package it needs. */
export const DRIVER_SOURCES: Record<DriverName, { subpath: string; pkg: string }> = {
  'neon-http': { subpath: '@lazydb/core/neon', pkg: '@neondatabase/serverless' },
  'neon-ws': { subpath: '@lazydb/core/neon', pkg: '@neondatabase/serverless' },
  planetscale: { subpath: '@lazydb/core/planetscale', pkg: '@planetscale/database' },
  libsql: { subpath: '@lazydb/core/libsql', pkg: '@libsql/client' },
  pg: { subpath: '@lazydb/core/pg', pkg: 'pg' },
  mysql2: { subpath: '@lazydb/core/mysql2', pkg: 'mysql2' },
  postgres: { subpath: '@lazydb/core/postgres', pkg: 'postgres' },
}

/**
 * Makes a driver available to URL-based config under its name. Driver subpaths call it when imported.
 * @example import { registerDriver } from '@lazydb/core'; registerDriver(myDriver)
 */
export function registerDriver(driver: Driver): void {
  const d = driver as Partial<Driver> | null | undefined
  if (typeof d !== 'object' || d === null || typeof d.connect !== 'function' || typeof d.classify !== 'function') {
    throw argumentError(
      'registerDriver',
      `expected a Driver { name, connect, classify } (got ${describeValue(driver)})`,
      "Pass a driver object, e.g. import { libsqlDriver } from '@lazydb/core/libsql'",
    )
  }
  if (!(d.name! in DRIVER_SOURCES)) {
    throw argumentError(
      'registerDriver',
      'the driver has an unknown name',
      `Name it one of ${Object.keys(DRIVER_SOURCES).join(', ')}`,
    )
  }
  table.set(driver.name, driver)
}

export function registeredDriver(name: DriverName): Driver | undefined {
  return table.get(name)
}

/**
 * The registered driver, or (in the Node build) its subpath loaded on first connect, where bundle
 * size is moot. The Worker/edge build has no loader: there a driver comes only from its subpath's
 * import, and a URL whose subpath was not imported fails here, naming the import to add.
 */
export async function loadDriver(name: DriverName, alias: string): Promise<Driver> {
  const known = table.get(name)
  if (known !== undefined) return known
  const { subpath, pkg } = DRIVER_SOURCES[name]
  await importDriverSubpath(name, alias, subpath, pkg)
  const loaded = table.get(name)
  if (loaded === undefined) {
    throw new LazyDbError(
      'DRIVER_MISSING',
      `database "${alias}": importing ${subpath} did not register the ${name} driver. Add: import '${subpath}'`,
      {
        database: alias,
      },
    )
  }
  return loaded
}
