// import() of a specifier known only at run time: how the core loads a driver's subpath from a URL
// alone, and how the Neon driver loads `ws` on Node 20. This is the build for Node (export conditions
// `node` and `default`). The Worker/edge build of the core (`workerd`, `worker`, `edge-light`,
// `browser`; scripts/build.mjs) takes runtime-import.worker.ts instead, which has none: bundlers and
// Miniflare reject a computed import(), and there every driver comes from its subpath's import.
import { LazyDbError } from './errors.js'
import type { DriverName } from './types.js'

// The package's one computed import(). From this file, Node resolves a driver subpath as a package
// self-reference ('@lazydb/core/neon'), and `ws` from the user's node_modules.
const load = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier)

/** Loads a module by a specifier computed at run time; `undefined` where this build has no loader. */
export const importAtRuntime: ((specifier: string) => Promise<unknown>) | undefined = load

/** Imports a driver's subpath, which registers the driver; DRIVER_MISSING if it cannot be loaded. */
export async function importDriverSubpath(name: DriverName, alias: string, subpath: string, pkg: string) {
  try {
    await load(subpath)
  } catch (error) {
    const text = String((error as Error)?.message ?? error)
    throw new LazyDbError(
      'DRIVER_MISSING',
      text.includes(pkg)
        ? `database "${alias}" needs the driver package ${pkg}, which is not installed. Run: npm install ${pkg}`
        : `database "${alias}" needs the ${name} driver, which could not be loaded. ` +
            `In a bundle, add: import '${subpath}' (and npm install ${pkg})`,
      { database: alias, cause: error },
    )
  }
}
