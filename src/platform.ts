export type PlatformName = 'cloudflare' | 'vercel-edge' | 'vercel-node' | 'aws-lambda' | 'netlify' | 'node' | 'unknown'

type Env = Record<string, string | undefined>
const g = globalThis as Record<string, unknown> & { process?: { env?: Env; versions?: { node?: string } } }

let detected: PlatformName | undefined

/**
 * Which runtime this is, read once from globals and environment variables.
 * @example if (detectPlatform() === 'cloudflare') console.log('request-scoped sockets')
 */
export function detectPlatform(): PlatformName {
  if (detected !== undefined) return detected
  const env: Env = g.process?.env ?? {}
  const ua = (g.navigator as { userAgent?: string } | undefined)?.userAgent
  if (ua === 'Cloudflare-Workers') detected = 'cloudflare'
  else if (typeof g.EdgeRuntime === 'string') detected = 'vercel-edge'
  // Netlify and Vercel run on Lambda too (AWS_LAMBDA_FUNCTION_NAME is set there): check them first.
  else if (env.NETLIFY === 'true' || g.Netlify !== undefined) detected = 'netlify'
  else if (env.VERCEL === '1' || env.VERCEL_ENV !== undefined) detected = 'vercel-node'
  else if (env.AWS_LAMBDA_FUNCTION_NAME !== undefined) detected = 'aws-lambda'
  else if (g.process?.versions?.node !== undefined) detected = 'node'
  else detected = 'unknown'
  return detected
}

/** Runtimes where an I/O object created in one request must not be used by another. */
export function forbidsCrossRequestIo(platform: PlatformName): boolean {
  return platform === 'cloudflare' || platform === 'vercel-edge' || platform === 'unknown'
}
