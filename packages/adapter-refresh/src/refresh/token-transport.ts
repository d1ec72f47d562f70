/**
 * The transport of the refresh grant: oauth4webapi builds and judges the request (client authentication,
 * headers, the OAuth error), and hands it to this function (its `customFetch`), which sends it with undici's
 * `request` API instead of `fetch`. Both are undici; `fetch` adds the WHATWG layers (Request, web streams,
 * structured headers), which cost about 1 ms of CPU per grant here: in the scale bench's 1,000-account point
 * (`AUTHJS_REFRESH_BENCH_SCALE_POINTS=1000x1 pnpm bench --only=scale`) the worker's CPU per grant fell from
 * 4.6 to 3.7 ms (lock mode) and from 5.0 to 4.0 ms (lease mode), against the provider's own 3.1 to 3.6 ms.
 *
 * It keeps what `fetch` gave the callers: the request's signal bounds the whole exchange, the body is read
 * within a byte bound (a longer one is cut off and the connection closed), redirects are not followed, and
 * a compressed answer is decoded within the same bound. A 200 answer's text travels beside the Response
 * (`receivedText`), so the grant's reader does not stream it a second time.
 */
import { gunzipSync, inflateSync, brotliDecompressSync } from "node:zlib"
import { request } from "undici"

/** The request oauth4webapi hands to a custom fetch. */
export interface TransportRequest {
  body: unknown
  headers: Record<string, string>
  method: string
  redirect: "manual"
  signal?: AbortSignal
}

/** A fetch for oauth4webapi's `customFetch`: answers whose bodies were read within `maxBytes`. */
export type BoundedFetch = (url: string, init: TransportRequest) => Promise<Response>

/** The texts of 200 answers read by a bounded fetch, by the Response that stands for them. */
const texts = new WeakMap<Response, string>()

/** The whole text of a 200 answer this transport received, if it was one. */
export function receivedText(response: Response): string | undefined {
  return texts.get(response)
}

const decoders: Record<string, (body: Buffer, options: { maxOutputLength: number }) => Buffer> = {
  gzip: gunzipSync,
  "x-gzip": gunzipSync,
  deflate: inflateSync,
  br: brotliDecompressSync,
}

/**
 * The body decoded (RFC 9110 §8.4), at most `maxBytes + 1` bytes of it: more means "too long" to the reader.
 * An encoding it does not know is an error: the bytes are not the answer's text.
 */
export function decoded(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  if (!encoding) return body
  let out = body
  // Codings are listed in the order they were applied: undone last to first.
  const codings = encoding.split(",").map((coding) => coding.trim().toLowerCase())
  for (const coding of codings.reverse()) {
    if (coding === "" || coding === "identity") continue
    const decode = decoders[coding]
    if (!decode) throw new TypeError(`the answer's content coding "${coding.slice(0, 32)}" is not supported`)
    try {
      out = decode(out, { maxOutputLength: maxBytes + 1 })
    } catch (error) {
      // Longer than the bound once decoded: the reader sees more than maxBytes and refuses it.
      if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") return Buffer.alloc(maxBytes + 1)
      throw error
    }
  }
  return out
}

const NO_BODY_STATUSES = new Set([204, 205, 304])

/** A body that fails when read, the way a fetch body cut off mid-way does. */
const failingBody = (error: unknown): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      controller.error(error)
    },
  })

/** What fetch throws where undici's request API throws its own error: an abort stays the signal's reason. */
function asFetchError(error: unknown, message: string): unknown {
  const name = (error as { name?: unknown } | null)?.name
  if (name === "TimeoutError" || name === "AbortError") return error
  return new TypeError(message, { cause: error })
}

/**
 * A custom fetch whose answers were read within `maxBytes` (a longer body is cut off, its connection closed,
 * and the Response holds `maxBytes + 1` bytes, which the bounded reader refuses as too long).
 */
export function boundedFetch(maxBytes: number): BoundedFetch {
  return async (url, init) => {
    const body = init.body === undefined || init.body === null ? undefined : String(init.body)
    let answer: Awaited<ReturnType<typeof request>>
    try {
      answer = await request(url, {
        method: init.method as "POST",
        // No content coding asked for: servers then send the text as it is (a coded one is still decoded).
        headers: { ...init.headers, "accept-encoding": "identity" },
        body,
        signal: init.signal,
      })
    } catch (error) {
      throw asFetchError(error, "fetch failed")
    }
    const status = answer.statusCode
    // The body first: whatever follows may throw (a status Response refuses), and must not leave it unread
    // on a pooled connection.
    const chunks: Buffer[] = []
    let size = 0
    let cutOff: unknown
    try {
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        size += chunk.byteLength
        chunks.push(chunk)
        if (size > maxBytes) {
          answer.body.destroy()
          break
        }
      }
    } catch (error) {
      cutOff = asFetchError(error, "terminated")
    }
    const headers = new Headers()
    for (const [name, value] of Object.entries(answer.headers)) {
      if (Array.isArray(value)) for (const one of value) headers.append(name, one)
      else if (value !== undefined) headers.append(name, value)
    }
    if (NO_BODY_STATUSES.has(status)) return new Response(null, { status, headers })
    // Cut off (timeout, reset): the Response's body fails when read, as fetch's does.
    if (cutOff !== undefined) return new Response(failingBody(cutOff), { status, headers })
    let text: Buffer
    try {
      text =
        size > maxBytes
          ? Buffer.concat(chunks)
          : decoded(Buffer.concat(chunks), headers.get("content-encoding") ?? undefined, maxBytes)
    } catch (error) {
      return new Response(failingBody(error), { status, headers })
    }
    if (status === 200 && text.byteLength <= maxBytes) {
      const response = new Response(null, { status, headers })
      texts.set(response, text.toString("utf8"))
      return response
    }
    return new Response(new Uint8Array(text), { status, headers })
  }
}
