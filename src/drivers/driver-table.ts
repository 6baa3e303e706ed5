import { argumentError, describeValue, LazyDbError } from '../errors.js'
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

// Kept in a variable so bundlers never follow it: the main entry must not pull any driver in.
const importAtRuntime: (specifier: string) => Promise<unknown> = (specifier) => import(/* @vite-ignore */ specifier)

/** The registered driver, or its subpath loaded on first connect (Node, where bundle size is moot). */
export async function loadDriver(name: DriverName, alias: string): Promise<Driver> {
  const known = table.get(name)
  if (known !== undefined) return known
  const { subpath, pkg } = DRIVER_SOURCES[name]
  try {
    await importAtRuntime(subpath)
  } catch (error) {
    const text = String((error as Error)?.message ?? error)
    const missingPackage = text.includes(pkg)
    throw new LazyDbError(
      'DRIVER_MISSING',
      missingPackage
        ? `database "${alias}" needs the driver package ${pkg}, which is not installed. Run: npm install ${pkg}`
        : `database "${alias}" needs the ${name} driver, which could not be loaded. ` +
            `In a bundle, add: import '${subpath}' (and npm install ${pkg})`,
      { database: alias, cause: error },
    )
  }
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
