// The notes app as a Netlify Function (v2: `(Request, Context) => Response`), on libSQL (e.g. Turso)
// over HTTP. Built with the `netlify` export condition, @libsql/client resolves to its fetch-only
// build: no native module in the bundle. Request-scoped cleanup runs through `context.waitUntil`.
import { Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { handler } from '@lazydb/core/netlify'
import { notesApp } from '../shared/notes.js'
import { lifetimeSettings, type FunctionEnv } from '../shared/env.js'

/** The part of Netlify's `Context` this function relies on (no `@netlify/functions` import needed). */
export interface NetlifyContext {
  waitUntil?(promise: Promise<unknown>): void
}

const registries = new Map<string, Registry>()

/** One registry per distinct environment: built on the first invocation, then reused while warm. */
export function registryFor(env: FunctionEnv = process.env): Registry {
  const key = JSON.stringify([env.DATABASE_URL, env.LAZYDB_SCOPE, env.LAZYDB_IDLE_TIMEOUT_MS])
  let registry = registries.get(key)
  if (registry === undefined) {
    if (env.DATABASE_URL === undefined) throw new Error('Set DATABASE_URL to a libSQL URL (libsql://… or https://…)')
    const { scope, registry: options } = lifetimeSettings(env)
    registry = new Registry({ ...options, database: libsql(env.DATABASE_URL, scope === undefined ? {} : { scope }) })
    registries.set(key, registry)
  }
  return registry
}

export default handler(
  () => registryFor(),
  (request: Request, _context: NetlifyContext) => notesApp(registryFor(), request),
)

/** Netlify routes these paths to the function; `/` is the static page in functions/netlify/public. */
export const config = { path: ['/notes', '/stats'] }
