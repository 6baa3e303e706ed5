export { Registry, type RegistryOptions, type DatabaseInput, type DisconnectOptions, type UsingOptions } from './registry.js'
export { Database } from './database.js'
export { handler, type HandlerOptions, type RegistrySource } from './handler.js'
export { LazyDbError, type LazyDbErrorCode, type LazyDbErrorOptions } from './errors.js'
export { registerDriver } from './drivers/load.js'
export { detectPlatform, provideAsyncLocalStorage, type PlatformName } from './platform.js'
export type { DatabaseOptions } from './config.js'
export type { Driver, DriverClient, DriverTransaction, ErrorInfo, ResolvedConfig } from './drivers/driver.js'
export type * from './types.js'

// For the driver subpaths, which import the built core from this entry (scripts/build.mjs).
/** @internal */
export { argumentError, configError, describeValue, isOptionsObject } from './errors.js'
/** @internal */
export { redactError, redactText } from './redact.js'
