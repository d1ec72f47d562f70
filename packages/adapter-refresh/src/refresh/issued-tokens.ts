/**
 * Tokens the provider issued that the database has not stored yet.
 *
 * After a refresh answer the rotated refresh token is the only one that works, so when the write fails
 * (a constraint, a trigger, a lock on the row not granted in time, a lost connection) the tokens are kept
 * in this process's memory, served to callers while the access token is fresh, used for the next
 * refresh, and written by later calls. Each kept set gets at most `MAX_PERSIST_ATTEMPTS` writes in all,
 * so a value the database will never take costs a bounded number of statements, never a loop, and
 * never a failing call.
 *
 * A write happens only while the row still holds what the refresh started from (compare-and-set under
 * the account lock): otherwise a newer write (a sign-in) won, and the kept tokens are dropped.
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { AccountSync, StoredView } from "../account-sync.js"
import { AccountStoreError } from "../errors.js"
import { mergeTokens, type TokenSet } from "../policy/merge.js"
import type { AccountKey, AccountLockOptions } from "../store.js"
import { boundedStart } from "../bounded-wait.js"
import { BoundedMap, MAX_KEPT_TOKEN_SETS } from "./bounded-map.js"

/** Writes of one kept token set, in all: the one under the refresh's lock plus the retries. */
export const MAX_PERSIST_ATTEMPTS = 5

/** What a row held when a refresh started: the compare-and-set condition of a later write. */
export interface RowVersion {
  access_token: TokenSet[string]
  refresh_token: TokenSet[string]
}

export const versionOf = (tokens: TokenSet): RowVersion => ({
  access_token: tokens.access_token ?? null,
  refresh_token: tokens.refresh_token ?? null,
})
export const sameVersion = (a: RowVersion, tokens: TokenSet): boolean =>
  a.access_token === (tokens.access_token ?? null) && a.refresh_token === (tokens.refresh_token ?? null)

export interface KeptTokens {
  from: RowVersion
  /** The stored view the refresh merged into (for the account returned while unwritten). */
  base: StoredView
  /** The columns to write. */
  tokens: TokenSet
  /** Write attempts so far. */
  attempts: number
  /** The last failure, as safe facts. */
  lastFailure: PersistFailure
}

export interface PersistFailure {
  driverErrorName?: string | undefined
  sqlState?: string | undefined
  lockTimeout?: boolean
}

export type PersistOutcome =
  { kind: "written"; account: AdapterAccount } | { kind: "superseded" } | { kind: "failed"; failure: PersistFailure }

/** The safe facts of a failed write: never the driver's message (it may echo token values). */
export function persistFailureOf(error: unknown, timedOut: boolean): PersistFailure {
  if (timedOut) return { lockTimeout: true }
  if (error instanceof AccountStoreError) {
    return { driverErrorName: error.driverErrorName, sqlState: error.sqlState, lockTimeout: error.lockTimeout }
  }
  return { driverErrorName: error instanceof Error ? error.name : undefined }
}

class WaitExpired extends Error {}

/**
 * The kept token sets of one process, at most `limit` (default `MAX_KEPT_TOKEN_SETS`), the oldest evicted
 * first. Eviction is the one costly case: the evicted account's issued tokens were never stored, so with a
 * rotating provider its stored refresh token is already consumed and the user must sign in again. It takes
 * that many accounts whose writes the database refused at once, each already reported (`persistError`).
 */
export class KeptTokenStore {
  private readonly kept: BoundedMap<string, KeptTokens>

  constructor(
    private readonly sync: AccountSync,
    private readonly lockOptions: AccountLockOptions,
    /** Bound on the wait for a connection + the lock (see bounded-wait.ts). */
    private readonly startBoundMs: number,
    limit: number = MAX_KEPT_TOKEN_SETS,
  ) {
    this.kept = new BoundedMap(limit)
  }

  /** How many token sets are kept. */
  get size(): number {
    return this.kept.size
  }

  get(id: string): KeptTokens | undefined {
    return this.kept.get(id)
  }

  keep(id: string, kept: KeptTokens): void {
    this.kept.set(id, kept)
  }

  drop(id: string): void {
    this.kept.delete(id)
  }

  /** The account as it would be stored with the kept tokens written. */
  accountOf(kept: KeptTokens): AdapterAccount {
    return this.sync.toAdapterAccount({ row: kept.base.row, tokens: mergeTokens(kept.base.tokens, kept.tokens).merged })
  }

  /** Whether another write may be tried. */
  writable(kept: KeptTokens): boolean {
    return kept.attempts < MAX_PERSIST_ATTEMPTS
  }

  /** Counts an attempt made elsewhere (the write under the refresh's own lock). */
  failed(kept: KeptTokens, failure: PersistFailure): void {
    kept.attempts++
    kept.lastFailure = failure
  }

  /** One write attempt of the kept tokens of `id`, in its own bounded transaction. */
  async write(key: AccountKey, id: string): Promise<PersistOutcome> {
    const kept = this.kept.get(id)
    if (!kept) return { kind: "superseded" }
    kept.attempts++
    try {
      const account = await boundedStart(
        this.startBoundMs,
        () => new WaitExpired(),
        (begin, abandoned) =>
          this.sync.withStoredAccount(
            key,
            async (stored, locked) => {
              begin()
              if (!stored || !sameVersion(kept.from, stored.tokens)) return null
              return this.sync.writeMerged(locked, stored, kept.tokens, "refresh")
            },
            { ...this.lockOptions, signal: abandoned },
            // The rows of the owner the refresh ran for, only (policy/ownership).
            String(kept.base.row.userId),
          ),
      )
      if (this.kept.get(id) === kept) this.kept.delete(id)
      return account ? { kind: "written", account } : { kind: "superseded" }
    } catch (error) {
      kept.lastFailure = persistFailureOf(error, error instanceof WaitExpired)
      return { kind: "failed", failure: kept.lastFailure }
    }
  }
}
