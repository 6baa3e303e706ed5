// The notes app as a Cloudflare Worker on Neon (wrangler.toml at the repository root; needs the
// nodejs_compat flag). Workers hand `env` to each request, so the registry comes from a factory:
// equal env values give back the same Registry. A WebSocket connection (`?transport=ws`) is opened
// per request and closed through ctx.waitUntil after the response — workerd forbids a socket from
// one request being used by another; Neon over HTTP stays warm.
import { withRegistry } from '@lazydb/core/cloudflare'
import type { FunctionEnv } from '../shared/env.js'
import { neonRegistry } from '../shared/neon-env.js'
import { notesApp } from '../shared/notes.js'

export interface Env extends FunctionEnv {
  /** `postgres://…` (HTTP) or `postgres://…?transport=ws` (WebSocket); a secret: `wrangler secret put DATABASE_URL`. */
  DATABASE_URL: string
}

export default withRegistry((env: Env) => neonRegistry(env), {
  fetch: (request, env) => notesApp(neonRegistry(env), request),
})
