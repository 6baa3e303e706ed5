import { LazyDbError } from '../errors.js'
import type { DriverName } from '../types.js'
import type { Driver } from './driver.js'

// Versioned with the Driver interface: a copy of lazydb built against another shape keeps its own table.
const KEY = Symbol.for('lazydb.drivers@2')
type DriverTable = Map<DriverName, Driver>
const table: DriverTable = ((globalThis as Record<symbol, unknown>)[KEY] as DriverTable | undefined) ?? new Map()
;(globalThis as Record<symbol, unknown>)[KEY] = table

const SOURCES: Record<DriverName, { subpath: string; pkg: string }> = {
  'neon-http': { subpath: 'lazydb/neon', pkg: '@neondatabase/serverless' },
  'neon-ws': { subpath: 'lazydb/neon', pkg: '@neondatabase/serverless' },
  planetscale: { subpath: 'lazydb/planetscale', pkg: '@planetscale/database' },
  libsql: { subpath: 'lazydb/libsql', pkg: '@libsql/client' },
}

/** Makes a driver available to URL-based config. Driver subpaths call it when imported. */
export function registerDriver(driver: Driver): void {
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
  const { subpath, pkg } = SOURCES[name]
  try {
    await importAtRuntime(subpath)
  } catch (error) {
    const text = String((error as Error)?.message ?? error)
    const missingPackage = text.includes(pkg)
    throw new LazyDbError(
      'DRIVER_MISSING',
      missingPackage
        ? `database "${alias}" needs the driver package ${pkg}, which is not installed. Run: npm install ${pkg}`
        : `database "${alias}" needs the ${name} driver, which could not be loaded. In a bundle, add: import '${subpath}' (and npm install ${pkg})`,
      { database: alias, cause: error },
    )
  }
  const loaded = table.get(name)
  if (loaded === undefined) {
    throw new LazyDbError('DRIVER_MISSING', `database "${alias}": importing ${subpath} did not register the ${name} driver. Add: import '${subpath}'`, { database: alias })
  }
  return loaded
}
