import type { Hooks } from './types.js'

/**
 * Calls a hook so that it can never break the operation it observes: a throw is ignored, and so is
 * a rejected promise (an async hook), which would otherwise be an unhandled rejection.
 */
export function emit<E>(hook: ((event: E) => unknown) | undefined, event: E): void {
  if (hook === undefined) return
  try {
    const result = hook(event)
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      Promise.resolve(result).catch(ignore)
    }
  } catch {}
}

function ignore(): void {}

export const HOOK_NAMES: readonly (keyof Hooks)[] = ['connect', 'close', 'query', 'retry', 'warning', 'error']
