export {
  Registry,
  type RegistryOptions,
  type DatabaseInput,
  type DisconnectOptions,
  type UsingOptions,
} from './registry.js'
export { Database } from './database.js'
export { handler, type HandlerOptions, type RegistrySource } from './handler.js'
export { startRollback, withRollback, RollbackScope, type RollbackOptions } from './rollback-scope.js'
export { LazyDbError, type LazyDbErrorCode, type LazyDbErrorOptions } from './errors.js'
export { registerDriver } from './drivers/driver-table.js'
export { detectPlatform, type PlatformName } from './platform.js'
export { provideAsyncLocalStorage, type ContextStorage } from './context-storage.js'
export type { DatabaseOptions } from './database-config.js'
export type { Driver, DriverClient, DriverConfig, DriverTransaction, ErrorInfo } from './drivers/contract.js'
export type { ConnectionStringBinding } from './hyperdrive.js'
export type { Secrets } from './secrets.js'
export type * from './types.js'

// For the driver and platform subpaths, which import the built core through this entry, by the package's
// own name (scripts/build.mjs). Left out of the published declarations (stripInternal).
/** @internal */
export { argumentError, configError, describeValue, isOptionsObject } from './errors.js'
/** @internal */
export { ClientClosedError } from './drivers/contract.js'
/** @internal */
export { lifecycleOf } from './registry.js'
/** @internal */
export { isTimerMs } from './options.js'
/** @internal */
export { importAtRuntime } from './runtime-import.js'
