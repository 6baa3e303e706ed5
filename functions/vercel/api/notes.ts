// The notes app as a Vercel Function on Neon, for Node (the default runtime) and Edge alike: the
// same Web `(Request) => Response` handlers. Idle closes of a warm WebSocket connection and
// request cleanup go through the `waitUntil` of Vercel's request context, so nothing is cut off
// when the instance suspends. For the Edge runtime, add: export const config = { runtime: 'edge' }
// WebSocket (`?transport=ws`) on Node needs Node 22+ (a global WebSocket) or the `ws` package.
import { handler } from '@lazydb/core/vercel'
import { unmount, type FunctionEnv } from '../../shared/env.js'
import { neonRegistry } from '../../shared/neon-env.js'
import { notesApp } from '../../shared/notes.js'

// Named one by one, so a bundler that inlines environment variables (as for Edge) can replace each.
const env = (): FunctionEnv => ({
  DATABASE_URL: process.env.DATABASE_URL,
  LAZYDB_SCOPE: process.env.LAZYDB_SCOPE,
  LAZYDB_IDLE_TIMEOUT_MS: process.env.LAZYDB_IDLE_TIMEOUT_MS,
  NEON_WS_PROXY: process.env.NEON_WS_PROXY,
  NEON_FETCH_ENDPOINT: process.env.NEON_FETCH_ENDPOINT,
})

const registry = () => neonRegistry(env())

/** `/api/notes` → the app's `/notes`, `/api/stats` → `/stats`. */
const app = handler(registry, (request: Request) => notesApp(registry(), unmount(request, '/api')))

export const GET = app
export const POST = app
