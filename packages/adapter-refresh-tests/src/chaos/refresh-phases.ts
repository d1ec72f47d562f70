/**
 * Where a refresh is, seen from outside the library in the process that runs it, for the chaos run and the
 * lease failure tests:
 * - "taken": the library's lock-wait event (lock mode), or a lease take that returned a row (lease mode);
 * - "sent" / "answered": undici's diagnostics channels for the request to the token endpoint (Node's fetch);
 * - "committed" / "released": the driver's statement that ended the hold, seen by wrapping pg's
 *   `Client.prototype.query` in this process (no library change);
 * each attributed to its account through the AsyncLocalStorage `flights` the caller runs getAccessToken in.
 * The listener runs synchronously, before the library goes on: it may write a line, or block the process.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import diagnostics from "node:diagnostics_channel"
import pg from "pg"
import { TOKEN_SYNC_CHANNELS, type LockWaitEvent } from "authjs-adapter-refresh"
import type { JournalLine } from "./chaos-protocol.js"

/** One account's loop: what its current refresh has done so far. */
export interface Flight {
  a: number
  holding: boolean
  answered: boolean
}
export const flights = new AsyncLocalStorage<Flight>()

/** What the listener receives: a journal line without its time. */
export type PhaseListener = (line: Omit<JournalLine, "t">) => void

interface UndiciRequest {
  origin?: unknown
  path?: unknown
}
type Query = (this: pg.Client, ...args: unknown[]) => unknown

/** Subscribes `listener` to every refresh phase of this process (once per process). */
export function watchRefreshPhases(tokenEndpoint: string, listener: PhaseListener): void {
  // ---- taken (lock mode): the library's own event, published once the account's lock is granted ----
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.lockWait, (message) => {
    const event = message as LockWaitEvent
    const flight = flights.getStore()
    if (!flight || event.purpose !== "refresh" || event.outcome !== "acquired") return
    flight.holding = true
    flight.answered = false
    listener({ ev: "taken", a: flight.a })
  })

  // ---- sent / answered: the token request, through undici's channels (Node's fetch) ----
  const tokenUrl = new URL(tokenEndpoint)
  const requests = new WeakMap<object, { flight: Flight; status?: number }>()
  diagnostics.subscribe("undici:request:create", (message) => {
    const { request } = message as { request: UndiciRequest }
    const flight = flights.getStore()
    if (!flight || String(request.origin) !== tokenUrl.origin || request.path !== tokenUrl.pathname) return
    requests.set(request, { flight })
  })
  diagnostics.subscribe("undici:client:sendHeaders", (message) => {
    const { request, socket } = message as { request: object; socket: { localPort?: number } }
    const entry = requests.get(request)
    if (entry) listener({ ev: "sent", a: entry.flight.a, port: socket.localPort ?? 0 })
  })
  diagnostics.subscribe("undici:request:headers", (message) => {
    const { request, response } = message as { request: object; response: { statusCode: number } }
    const entry = requests.get(request)
    if (entry) entry.status = response.statusCode
  })
  diagnostics.subscribe("undici:request:trailers", (message) => {
    const { request } = message as { request: object }
    const entry = requests.get(request)
    if (!entry) return
    entry.flight.answered = entry.status === 200
    listener({ ev: "answered", a: entry.flight.a, status: entry.status ?? 0 })
  })
  diagnostics.subscribe("undici:request:error", (message) => {
    const { request } = message as { request: object }
    const entry = requests.get(request)
    if (entry) listener({ ev: "answered", a: entry.flight.a, status: 0 })
  })

  // ---- taken (lease mode), committed, released: the statements themselves, as they finish ----
  const clientPrototype = pg.Client.prototype as unknown as { query: Query }
  const originalQuery = clientPrototype.query
  clientPrototype.query = function (this: pg.Client, ...args: unknown[]): unknown {
    const flight = flights.getStore()
    const result = originalQuery.apply(this, args)
    const first = args[0]
    const text = typeof first === "string" ? first : (first as { text?: unknown } | null)?.text
    if (!flight || typeof text !== "string" || !(result instanceof Promise)) return result
    const statement = text.trimStart().slice(0, 40).toUpperCase()
    const isEnd = statement.startsWith("COMMIT") || statement.startsWith("ROLLBACK")
    const isTake = /^(WITH|INSERT)/.test(statement) && /authjs_refresh_lease/i.test(text) && /INSERT/i.test(text)
    const isRelease =
      /^UPDATE/.test(statement) && /authjs_refresh_lease/i.test(text) && /lease_until\s*=\s*NULL/i.test(text)
    const isWrite = /authjs_refresh_lease/i.test(text) && /UPDATE\s+"?accounts"?/i.test(text)
    if (!isEnd && !isTake && !isRelease && !isWrite) return result
    // Registered before the caller's own await: the line is written before the library goes on.
    result.then(
      (answer: { rowCount?: number | null }) => {
        if (isTake && (answer.rowCount ?? 0) > 0 && !flight.holding) {
          flight.holding = true
          flight.answered = false
          listener({ ev: "taken", a: flight.a })
        } else if ((isEnd || isRelease || isWrite) && flight.holding) {
          flight.holding = false
          listener({ ev: flight.answered ? "committed" : "released", a: flight.a })
          flight.answered = false
        }
      },
      () => {},
    )
    return result
  }
}
