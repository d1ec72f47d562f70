/**
 * The engine's settings: the `refresh` options with their defaults, and the bounds derived from them. A pure
 * function of its own so the arithmetic that keeps every wait bounded is tested without a database.
 */
import type { RefreshOptions } from "./engine-types.js"
import { DEFAULT_REFUSED_TOKEN_INTERVAL_SECONDS } from "./refused-token.js"

/** The `refresh` options resolved: defaults applied, and the bounds derived from them. */
export interface EngineSettings {
  skewSeconds: number
  minRefreshIntervalSeconds: number
  lockTimeoutMs: number
  requestTimeoutMs: number
  maxConcurrentRefreshes: number
  queueTimeoutMs: number
  retries: number
  backoffMs: number
  reauthColumn: string | undefined
  /** Outlives the lock wait plus every attempt and backoff under the lock. */
  transactionTimeoutMs: number
  /** What lock mode's transaction waits for (the account lock) and how long it may last. */
  lockOptions: { lockTimeoutMs: number; transactionTimeoutMs: number }
  /** What lease mode's lease outlives: one request's bound plus its margin. */
  leaseSettings: { requestTimeoutMs: number; leaseMarginMs: number; lateAnswerMs: number; statementSlots: number }
  /** The whole wait until a transaction's work starts (a pooled connection, then the lock). */
  startBoundMs: number
  /** Shortest time between two refreshes for a refused access token, per account (0: off). */
  refusedTokenIntervalMs: number
}

/** Resolves the `refresh` options: every numeric one was checked (non-negative integer) before this runs. */
export function engineSettingsOf(options: RefreshOptions): EngineSettings {
  const skewSeconds = options.skewSeconds ?? 60
  const minRefreshIntervalSeconds = options.minRefreshIntervalSeconds ?? 60
  const lockTimeoutMs = options.lockTimeoutMs || 10_000 // 0 means the default
  const requestTimeoutMs = options.requestTimeoutMs || 10_000 // 0 means the default
  const maxConcurrentRefreshes = options.maxConcurrentRefreshes || 4 // 0 means the default
  const queueTimeoutMs = options.queueTimeoutMs || 30_000 // 0 means the default
  const retries = options.retries ?? 2
  const backoffMs = options.backoffMs ?? 200
  const reauthColumn = options.reauthColumn
  // The transaction must outlive the lock wait plus every attempt and backoff under the lock.
  const transactionTimeoutMs = lockTimeoutMs + (retries + 1) * requestTimeoutMs + backoffMs * 2 ** (retries + 1) + 5_000
  const lockOptions = { lockTimeoutMs, transactionTimeoutMs }
  const leaseSettings = {
    requestTimeoutMs,
    leaseMarginMs: options.leaseMarginMs ?? 5_000,
    lateAnswerMs: options.lateAnswerMs ?? 2 * requestTimeoutMs,
    statementSlots: options.maxConcurrentStatements || 4, // 0 means the default
  }
  // The account lock alone is bounded by lock_timeout; waiting for a pooled connection first may take as
  // long again: the whole wait until the transaction's work starts is bounded at twice lockTimeoutMs.
  const startBoundMs = 2 * lockTimeoutMs
  const refusedTokenIntervalMs = (options.refusedTokenIntervalSeconds ?? DEFAULT_REFUSED_TOKEN_INTERVAL_SECONDS) * 1000
  return {
    skewSeconds,
    minRefreshIntervalSeconds,
    lockTimeoutMs,
    requestTimeoutMs,
    maxConcurrentRefreshes,
    queueTimeoutMs,
    retries,
    backoffMs,
    reauthColumn,
    transactionTimeoutMs,
    lockOptions,
    leaseSettings,
    startBoundMs,
    refusedTokenIntervalMs,
  }
}
