/**
 * What the chaos run (chaos.ts), its worker processes (chaos-worker.ts) and its analysis (chaos-analysis.ts)
 * share: the worker's config and the journal lines each worker appends to its own file.
 */

/** The seeded accounts' providerAccountId: `chaos-<n>`, n from 0. Their users' ids are n + 1. */
export const chaosAccountId = (n: number): string => `chaos-${n}`
export const chaosAccountNumber = (providerAccountId: string): number =>
  Number(providerAccountId.slice("chaos-".length))

/** The column the workers mark a dead refresh token in (`refresh.reauthColumn`), so no process resends it. */
export const REAUTH_COLUMN = "refresh_error"

export type Coordination = "lock" | "lease"

export interface ChaosWorkerConfig {
  databaseUrl: string
  /** Where this worker appends its journal, `worker-<pid>.ndjson` (one file per process). */
  journalDir: string
  coordination: Coordination
  accounts: number
  provider: { id: string; issuer: string; clientId: string; clientSecret: string; token: string }
  /** `refresh.requestTimeoutMs`: one request's bound (and in lease mode a part of the lease). */
  requestTimeoutMs: number
  /** `refresh.leaseMarginMs` (lease mode). */
  leaseMarginMs: number
}

/**
 * One journal line. `t` is `performance.timeOrigin + performance.now()` (one host, one clock, sub-ms).
 * - taken: this process holds the account (lock mode: the advisory lock granted; lease mode: a lease taken);
 * - read (lease mode): READ's short transaction committed under the lease;
 * - sent: the refresh request's headers left on a socket (`port`: its local port, which the provider's
 *   proxy sees as the remote port);
 * - answered: the whole answer arrived (`status`);
 * - committed: the statement that made the answer durable finished (lock mode: the COMMIT of the refresh's
 *   transaction; lease mode: the write of the result);
 * - released: the hold ended without an answer to store (COMMIT or ROLLBACK with nothing sent, a release);
 * - ask: getAccessToken called;
 * - done: getAccessToken returned (`refreshed`) or threw (`code`).
 * Never a token value.
 */
export interface JournalLine {
  t: number
  ev: "start" | "ask" | "taken" | "read" | "sent" | "answered" | "committed" | "released" | "done"
  /** The account's number (absent on "start"). */
  a?: number
  port?: number
  status?: number
  refreshed?: boolean
  code?: string
}

/** Messages a worker prints on stdout, one JSON object a line. */
export type ChaosWorkerMessage =
  { type: "ready"; pid: number } | { type: "failed"; pid: number; reason: string } | { type: "done"; pid: number }
