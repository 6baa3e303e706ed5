import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { handler, Registry } from '@lazydb/core'
import { lifespan } from '@lazydb/core/node'
import { notesApp } from '../shared/notes.js'

/** The demo: the notes app on plain Node, on the embedded libSQL default unless DATABASE_URL is set. */
export const registry = new Registry({ database: process.env.DATABASE_URL ?? 'file:.data/demo.db' })

const app = handler(registry, (request: Request) => notesApp(registry, request))

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const body = chunks.length > 0 && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined
  return new Request(new URL(req.url ?? '/', origin), {
    method: req.method,
    headers: req.headers as Record<string, string>,
    body,
  })
}

async function respond(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers))
  res.end(Buffer.from(await response.arrayBuffer()))
}

export function serve(port = Number(process.env.PORT ?? 3000), host = '127.0.0.1') {
  const origin = `http://${host}:${port}`
  const server = createServer((req, res) => {
    toRequest(req, origin)
      .then(app)
      .then((response) => respond(res, response))
      .catch((error: unknown) => {
        console.error(error)
        res.writeHead(500).end('internal error')
      })
  })
  return new Promise<typeof server>((resolve) => server.listen(port, host, () => resolve(server)))
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const server = await serve()
  // Connects now (a bad DATABASE_URL fails here, not on the first request); on SIGTERM or SIGINT it stops
  // accepting, lets the requests in flight finish, disconnects and exits (0 after a clean drain).
  await lifespan(registry, { server }).ready
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 3000
  console.log(`lazydb demo on http://127.0.0.1:${port}  (database: ${registry.database.url})`)
  console.log(`  curl -X POST -d '{"body":"hello"}' http://127.0.0.1:${port}/notes`)
  console.log(`  curl http://127.0.0.1:${port}/notes   |   curl http://127.0.0.1:${port}/stats`)
}
