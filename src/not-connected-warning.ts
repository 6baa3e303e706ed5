import { emit } from './hooks.js'
import type { Hooks, Scope, WarningEvent } from './types.js'

/**
 * The NOT_CONNECTED warning: a database used outside handler() and without registry.connect(). It
 * still works (it connects lazily); the warning says what lazydb did and the fix. Once per database.
 */
export function warnNotConnected(hooks: Hooks, alias: string, scope: Scope): void {
  const message =
    scope === 'request'
      ? `database "${alias}" was used outside handler() and without registry.connect(); it is request-scoped here, ` +
        'so every operation opens and closes its own connection (slow). Wrap the function with handler(registry, fn) ' +
        'or call registry.connect() first.'
      : `database "${alias}" was used outside handler() and without registry.connect(); lazydb connected it lazily ` +
        'and will keep it for reuse. Wrap the function with handler(registry, fn) or call registry.connect() first ' +
        'to silence this (or pass warn: false).'
  warn(hooks, { code: 'NOT_CONNECTED', message, database: alias })
}

/** A warning to `on.warning`, or to the console when no hook is set. */
export function warn(hooks: Hooks, event: WarningEvent): void {
  if (hooks.warning !== undefined) emit(hooks.warning, event)
  else console.warn(`[lazydb] ${event.code}: ${event.message}`)
}
