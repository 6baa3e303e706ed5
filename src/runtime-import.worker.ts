// The Worker/edge build's stand-in for runtime-import.ts (scripts/build.mjs swaps it in under the
// export conditions `workerd`, `worker`, `edge-light` and `browser`): no loader, so no computed
// import() in the bundle. A driver registers through its subpath's import; a URL whose subpath was
// not imported fails with DRIVER_MISSING naming the import to add.
import { LazyDbError } from './errors.js'
import type { DriverName } from './types.js'

/** No runtime loader in this build. */
export const importAtRuntime: ((specifier: string) => Promise<unknown>) | undefined = undefined

export async function importDriverSubpath(name: DriverName, alias: string, subpath: string, pkg: string) {
  throw new LazyDbError(
    'DRIVER_MISSING',
    `database "${alias}" needs the ${name} driver, which is not registered: Workers and edge bundles load a ` +
      `driver only from its subpath. Add to your entry: import '${subpath}' (and npm install ${pkg})`,
    { database: alias },
  )
}
