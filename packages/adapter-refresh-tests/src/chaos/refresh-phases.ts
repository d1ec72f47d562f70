/**
 * Where a refresh is, seen from outside the library in the process that runs it, for the chaos run and the
 * lease failure tests:
 * - "taken": the library's lock-wait event (lock mode), or a lease take that returned a row (lease mode);
 * - "sent" / "answered": undici's diagnostics channels for the request to the token endpoint (Node's fetch);
 * - "committed": lock mode, the COMMIT of the transaction that held the lock; lease mode, the one-statement
 *   write after a 200 that wrote a row (an UPDATE of the accounts compared with IS NOT DISTINCT FROM, alone or
 *   with the lease's release in one WITH), or else
 *   the COMMIT of the locked write. "released": the hold ended with nothing to store. Both seen by wrapping pg's
 *   `Client.prototype.query` and `Pool.prototype.query` (promise forms) in this process: no library change;
 * - "read" (lease mode): the read that follows a take on the same connection (the lease's state, the store's
 *   clock and the account's rows: what READ decides on), finished while this process holds the lease;
 * each attributed to its account through the AsyncLocalStorage `flights` the caller runs getAccessToken in.
 * The listener runs synchronously, before the library goes on: it may write a line, or block the process.
 */
import { AsyncLocalStorage } from "node:async_hooks"
import diagnostics from "node:diagnostics_channel"
import pg from "pg"
import { TOKEN_SYNC_CHANNELS, type LockWaitEvent } from "authjs-adapter-refresh"
import type { Coordination, JournalLine } from "./chaos-protocol.js"

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
type Query = (this: unknown, ...args: unknown[]) => unknown

/** Subscribes `listener` to every refresh phase of this process (once per process). */
export function watchRefreshPhases(tokenEndpoint: string, coordination: Coordination, listener: PhaseListener): void {
  // ---- taken (lock mode): the library's own event, published once the account's lock is granted ----
  diagnostics.subscribe(TOKEN_SYNC_CHANNELS.lockWait, (message) => {
    const event = message as LockWaitEvent
    const flight = flights.getStore()
    if (coordination !== "lock" || !flight || event.purpose !== "refresh" || event.outcome !== "acquired") return
    hold(flight)
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
  const observe = (flight: Flight | undefined, text: unknown, result: unknown): void => {
    if (!flight || typeof text !== "string" || !(result instanceof Promise)) return
    const statement = text.trimStart().slice(0, 40).toUpperCase()
    const isCommit = statement.startsWith("COMMIT")
    const isEnd = isCommit || statement.startsWith("ROLLBACK")
    const onLeases = /authjs_refresh_lease/i.test(text)
    const isTake = onLeases && statement.startsWith("INSERT")
    const isRelease = onLeases && statement.startsWith("UPDATE") && /lease_until\s*=\s*NULL/i.test(text)
    const isLook = onLeases && statement.startsWith("SELECT")
    // Lease mode's one-statement write of the answer: autocommit, no COMMIT. An UPDATE of the accounts
    // (updateOwnTokensIfUnchanged), or that UPDATE with the lease's release in one WITH (updateOwnTokensAndRelease).
    const isComparedWrite =
      /IS NOT DISTINCT FROM/i.test(text) &&
      ((!onLeases && statement.startsWith("UPDATE")) || statement.startsWith("WITH WRITTEN AS"))
    if (!isEnd && !isTake && !isRelease && !isLook && !isComparedWrite) return
    // Registered before the caller's own await: the line is written before the library goes on.
    result.then(
      (answer: { rowCount?: number | null }) => {
        if (coordination === "lease") {
          // Taken: a take that returned a row. Read: the take's look, READ's rows. Committed: the write's COMMIT
          // after a 200 (a short locked transaction of its own). Released: a release with nothing to store.
          if (isTake && (answer.rowCount ?? 0) > 0 && !flight.holding) hold(flight)
          else if (isLook && flight.holding && !flight.answered) listener({ ev: "read", a: flight.a })
          else if (isCommit && flight.holding && flight.answered) end(flight, "committed")
          else if (isComparedWrite && (answer.rowCount ?? 0) > 0 && flight.holding && flight.answered)
            end(flight, "committed")
          else if (isRelease && flight.holding && !flight.answered) end(flight, "released")
        } else if (isEnd && flight.holding) {
          // Lock mode: the transaction that held the lock ends.
          end(flight, isCommit && flight.answered ? "committed" : "released")
        }
      },
      () => {},
    )
  }
  const hold = (flight: Flight): void => {
    flight.holding = true
    flight.answered = false
    listener({ ev: "taken", a: flight.a })
  }
  const end = (flight: Flight, ev: "committed" | "released"): void => {
    flight.holding = false
    flight.answered = false
    listener({ ev, a: flight.a })
  }
  for (const prototype of [pg.Client.prototype, pg.Pool.prototype] as unknown as Array<{ query: Query }>) {
    const original = prototype.query
    prototype.query = function (this: unknown, ...args: unknown[]): unknown {
      const flight = flights.getStore()
      const result = original.apply(this, args)
      const first = args[0]
      observe(flight, typeof first === "string" ? first : (first as { text?: unknown } | null)?.text, result)
      return result
    }
  }
}
