/**
 * Every text an error could show a user or a log: message, stack, String(), own properties as
 * JSON, for the error and each cause (and Neon's `sourceError`) down its chain.
 */
export function exposed(error: unknown): string {
  const parts: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const e = current as Error & Record<string, unknown>
    parts.push(String(e), String(e.message), String(e.stack), String(e.detail))
    try {
      parts.push(JSON.stringify(e, Object.getOwnPropertyNames(e)))
    } catch {}
    current = e.cause ?? e.sourceError
  }
  return parts.join('\n')
}
