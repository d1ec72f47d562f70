/**
 * Every body a provider sends is read through here, bounded in size as well as in time (the request's
 * signal bounds the time). A provider, or anything between it and us, may stream an endless body: read
 * whole, 150 MiB of it cost the process several hundred MiB. The reader stops at the bound and cancels
 * the stream, so the connection is closed and no more bytes are taken in.
 */

/** Largest body read from a token endpoint (an answer or an error), in bytes: no token response is larger. */
export const MAX_TOKEN_BODY_BYTES = 1_048_576
/** Largest discovery document read, in bytes: real ones are a few KB. */
export const MAX_DISCOVERY_BODY_BYTES = 512 * 1024

/**
 * The body as text, read up to `maxBytes` (after content decoding, so a compressed bomb is bounded too);
 * undefined when it is longer, the rest of the stream cancelled unread. A body cut off (timeout, reset)
 * rejects with the stream's error.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string | undefined> {
  if (!response.body) return ""
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/**
 * A copy of `response` (status, headers) whose body was read within `maxBytes`, for code that reads a
 * body whole (oauth4webapi's processing); undefined when the body is longer.
 */
export async function boundedCopy(response: Response, maxBytes: number): Promise<Response | undefined> {
  const text = await readBoundedText(response, maxBytes)
  if (text === undefined) return undefined
  // A status with no body allowed (204, 304) cannot be built with one; such an answer has none to read.
  const body = response.status === 204 || response.status === 304 ? null : text
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}
