// The notes app as an AWS Lambda function behind an API Gateway HTTP API (payload format 2.0) or a
// Function URL, on Neon. Handler: `handler.handler` (ESM bundle functions/dist/aws-lambda/handler.mjs).
// The registry lives in module scope: created at init without I/O, it connects on the first query,
// and a WebSocket connection (`?transport=ws`) stays warm across invocations; one that died while
// the instance was frozen is replaced before use.
import { handler as lambdaHandler } from '@lazydb/core/aws-lambda'
import { WebSocket } from 'ws'
import { neonRegistry } from '../shared/neon-env.js'
import { notesApp } from '../shared/notes.js'

/** The fields of an API Gateway v2 / Function URL event this function reads. */
export interface HttpApiEvent {
  rawPath: string
  rawQueryString?: string
  headers?: Record<string, string | undefined>
  cookies?: string[]
  body?: string
  isBase64Encoded?: boolean
  requestContext: { domainName?: string; http: { method: string } }
}

export interface HttpApiResult {
  statusCode: number
  headers: Record<string, string>
  cookies?: string[]
  body: string
  isBase64Encoded: boolean
}

/** The part of Lambda's context lazydb touches. */
export interface LambdaContext {
  callbackWaitsForEmptyEventLoop: boolean
}

// The nodejs20.x runtime has no global WebSocket; `ws` is bundled so the function needs no node_modules.
export const registry = neonRegistry(process.env, { webSocketConstructor: WebSocket })

export function toRequest(event: HttpApiEvent): Request {
  const headers = new Headers()
  for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers.set(name, value)
  if (event.cookies !== undefined && event.cookies.length > 0) headers.set('cookie', event.cookies.join('; '))
  const host = headers.get('host') ?? event.requestContext.domainName ?? 'localhost'
  const query = event.rawQueryString ? `?${event.rawQueryString}` : ''
  const method = event.requestContext.http.method
  const hasBody = event.body !== undefined && method !== 'GET' && method !== 'HEAD'
  const body = hasBody ? (event.isBase64Encoded ? Buffer.from(event.body!, 'base64') : event.body) : undefined
  return new Request(`https://${host}${event.rawPath}${query}`, { method, headers, body })
}

export async function toResult(response: Response): Promise<HttpApiResult> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value
  })
  const cookies = response.headers.getSetCookie()
  const type = response.headers.get('content-type') ?? ''
  const text = type === '' || /^text\/|[/+](json|xml|javascript)\b/.test(type)
  const bytes = Buffer.from(await response.arrayBuffer())
  return {
    statusCode: response.status,
    headers,
    ...(cookies.length > 0 ? { cookies } : {}),
    body: bytes.toString(text ? 'utf8' : 'base64'),
    isBase64Encoded: !text,
  }
}

export const handler = lambdaHandler(registry, async (event: HttpApiEvent, _context: LambdaContext) =>
  toResult(await notesApp(registry, toRequest(event))),
)
