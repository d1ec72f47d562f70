/**
 * Lease mode's refresh, assembled from the engine's parts: the flight (lease-flight.ts) decides on the rows
 * its TAKE brought (judged by the store's clock), sends the request holding nothing, and writes the answer
 * in a short transaction under the account lock, compared with what it read (lease-write.ts). A module of
 * its own so that engine.ts keeps only what both modes share.
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { AccountSync, StoredView } from "../account-sync.js"
import { boundedStart } from "../bounded-wait.js"
import { AccountNotLinkedError, RefreshLockTimeoutError } from "../errors.js"
import { mergeTokens, type TokenSet } from "../policy/merge.js"
import type {
  AccountKey,
  AccountLeases,
  AccountStore,
  HeldLease,
  LockedAccount,
  OwnTokensWritten,
  TokenColumnValue,
} from "../store.js"
import { BoundedMap, MAX_KEPT_TOKEN_SETS } from "./bounded-map.js"
import { Semaphore, SlotWaitTimeout, StartTimeout } from "./coordination.js"
import type { Checked, CoordinatedRefresh, Outcome, RefreshMode } from "./engine-types.js"
import type { Granted } from "./grant.js"
import { versionOf, type KeptTokens } from "./issued-tokens.js"
import { AdaptiveAdmission, admissionBounds } from "./admission.js"
import { ProviderSlots, runLeaseFlight, type LeaseAtWrite, type LeaseLook } from "./lease-flight.js"
import { leaseWriteOf, writeLeaseAnswer, type LeaseWritten } from "./lease-write.js"
import type { IssuedResponse, LateAnswer, ProviderClient } from "./provider.js"
import type { TokenResponseReading } from "./token-response.js"

/** What lease mode takes from the engine: its settings and the steps both modes share. */
export interface LeaseRefreshContext {
  store: AccountStore
  sync: AccountSync
  leases: AccountLeases
  reauthColumn: string | undefined
  settings: {
    requestTimeoutMs: number
    leaseMarginMs: number
    lateAnswerMs: number
    /** Most of the flights' statements in flight at once in this process (`maxConcurrentStatements`). */
    statementSlots: number
    queueTimeoutMs: number
    /** Bound on the wait for a connection + the lock of READ and WRITE. */
    startBoundMs: number
    lockTimeoutMs: number
  }
  providerConcurrency: Readonly<Record<string, number>> | undefined
  checkStored(
    key: AccountKey,
    userId: string,
    stored: StoredView | null,
    mode: RefreshMode,
    nowMs?: number,
  ): { outcome: Outcome } | Checked
  grant(
    client: ProviderClient,
    refreshToken: string,
    beforeAttempt: (attempt: number) => Promise<void>,
    lateAnswer: LateAnswer,
  ): Promise<Granted>
  failed(
    key: AccountKey,
    checked: Checked,
    result: Extract<Granted, { ok: false }>,
    mark: (value: string) => Promise<void>,
  ): Promise<Outcome>
  readAnswer(issued: IssuedResponse, entry: KeptTokens | undefined, nowMs?: number): TokenResponseReading
  issuedEntry(stored: StoredView, tokens: TokenSet): KeptTokens
  answered(account: AdapterAccount, reading: TokenResponseReading): Outcome
  success(account: AdapterAccount, refreshed: boolean): Outcome
  freshTokens(tokens: TokenSet, nowMs?: number): boolean
}

export interface LeaseRefresh {
  refresh: CoordinatedRefresh
  /** The kept tokens of `key` were written (or a newer write won): frees the lease kept for them. */
  settled(key: AccountKey): Promise<void>
}

export function createLeaseRefresh(context: LeaseRefreshContext): LeaseRefresh {
  const { store, sync, reauthColumn, settings } = context
  // The flights' statements take turns, at most `statementSlots` at once: a burst of expiries leaves the rest
  // of the app's pool to the app. A turn not given within lockTimeoutMs is the bounded start's timeout.
  const slots = new Semaphore(settings.statementSlots)
  const inTurn = <T>(work: () => Promise<T>): Promise<T> =>
    slots.run(settings.lockTimeoutMs, work).catch((error: unknown) => {
      throw error instanceof SlotWaitTimeout ? new StartTimeout() : error
    })
  const leases: AccountLeases = {
    take: (key, holder, durationMs, options) => inTurn(() => context.leases.take(key, holder, durationMs, options)),
    renew: (key, lease, durationMs) => inTurn(() => context.leases.renew(key, lease, durationMs)),
    release: (key, lease) => inTurn(() => context.leases.release(key, lease)),
  }
  const providerSlots = new ProviderSlots(context.providerConcurrency)
  // Admission: flights past TAKE at once in this process, adapted to their length (admission.ts), so those
  // holding a lease finish within it and the provider's queue stays shorter than a request's timeout.
  const admission = new AdaptiveAdmission(admissionBounds(settings.requestTimeoutMs))
  /** Leases kept after a failed write, while their answer waits in memory (bounded like the kept tokens). */
  const keptLeases = new BoundedMap<string, HeldLease>(MAX_KEPT_TOKEN_SETS)
  const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`
  // READ and WRITE hold the lock for a few statements, never for a request.
  const lockOptions = { lockTimeoutMs: settings.lockTimeoutMs, transactionTimeoutMs: settings.lockTimeoutMs + 5_000 }

  /** A short transaction under the account lock on the owner's row, bounded like lock mode's start. */
  const shortLocked = <T>(
    key: AccountKey,
    userId: string,
    work: (stored: StoredView | null, locked: LockedAccount) => Promise<T>,
  ): Promise<T> =>
    inTurn(() =>
      boundedStart(
        settings.startBoundMs,
        () => new StartTimeout(),
        (begin, abandoned) =>
          sync.withStoredAccount(
            key,
            (stored, locked) => {
              begin()
              return work(stored, locked)
            },
            { ...lockOptions, signal: abandoned },
            userId,
          ),
      ),
    )

  /** A stored value as a statement's parameter compares it; undefined when no parameter compares it exactly. */
  const comparable = (value: unknown): TokenColumnValue | undefined => {
    if (value === null || value === undefined) return null
    if (typeof value === "string" || typeof value === "number") return value
    if (typeof value === "bigint") return String(value)
    return undefined
  }

  /**
   * The answer written in one statement (`updateOwnTokensIfUnchanged`, or `updateOwnTokensAndRelease`, which
   * ends the lease in it and then says so through `lease.released`), only while the row still holds what
   * READ saw in the columns the merge writes and in both tokens: the whole answer (leaseWriteOf's "whole"
   * case) without a transaction, which also shortens the time between the answer and its commit. Undefined
   * when it wrote nothing, for whatever reason (a sign-in landed, the lock is held, the store lacks it, the
   * statement failed): the locked transaction then decides, on the decoded row, as before.
   */
  async function writeInOneStatement(
    key: AccountKey,
    userId: string,
    read: StoredView,
    tokens: TokenSet,
    lease: LeaseAtWrite,
  ): Promise<LeaseWritten | undefined> {
    // Where the store can, the lease ends in the same statement, only with the write (one statement less).
    const andRelease = store.updateOwnTokensAndRelease
    const compared = store.updateOwnTokensIfUnchanged
    type CompareAndSet = (
      userId: string,
      unchanged: Record<string, TokenColumnValue>,
      columns: Record<string, TokenColumnValue>,
    ) => Promise<OwnTokensWritten>
    const update: CompareAndSet | undefined = andRelease
      ? (owner, unchanged, columns) =>
          andRelease.call(store, key, owner, unchanged, columns, lease.held, () => undefined)
      : compared &&
        ((owner, unchanged, columns) => compared.call(store, key, owner, unchanged, columns, () => undefined))
    if (!update) return undefined
    let written = false
    // Only `update` is the merged write's; anything else would need the lock: refused, so the locked path runs.
    const needsTheLock = () => Promise.reject(new Error("the one-statement write only updates"))
    const oneStatement: LockedAccount = {
      readAll: needsTheLock,
      userExists: needsTheLock,
      insert: needsTheLock,
      async update(patch, scope) {
        if (patch.userId !== undefined) throw new Error("the one-statement write never moves a row")
        const columns = patch.tokens ?? {}
        const compared = new Set(["refresh_token", "access_token", ...Object.keys(columns)])
        const unchanged: Record<string, TokenColumnValue> = {}
        for (const field of compared) {
          const value = comparable(read.row.tokens[field])
          if (value === undefined) return // a value of a kind no parameter compares exactly: the locked path
          unchanged[field] = value
        }
        const result = await inTurn(() => update(scope.userId, unchanged, columns))
        written = Array.isArray(result) ? result.length > 0 : result.written > 0
        if (written && andRelease) lease.released()
      },
    }
    try {
      const account = await sync.writeMerged(oneStatement, read, tokens, "refresh")
      return written ? { kind: "whole", account } : undefined
    } catch {
      return undefined
    }
  }

  const refresh: LeaseRefresh["refresh"] = (key, userId, client, onIssued, mode) => {
    const id = idOf(key)
    const resume = keptLeases.get(id)
    keptLeases.delete(id)
    const keptLease = { resume, keep: (held: HeldLease) => keptLeases.set(id, held) }
    let checked: Checked | undefined
    /** The store's clock now: READ's reading plus the time since, on this process's monotonic clock. */
    let storeNow: () => number | undefined = () => undefined
    const flight = {
      requestTimeoutMs: settings.requestTimeoutMs,
      leaseMarginMs: settings.leaseMarginMs,
      lateAnswerMs: settings.lateAnswerMs,
      waitBoundMs: mode.lockOptions.lockTimeoutMs,
      wait: mode.leaseWait,
      admissionBoundMs: settings.queueTimeoutMs,
      async admit(boundMs: number) {
        try {
          return await admission.acquire(boundMs)
        } catch (error) {
          if (error instanceof SlotWaitTimeout) throw new RefreshLockTimeoutError(key.provider, boundMs, "refresh_slot")
          throw error
        }
      },
    }
    const clockOf = (look: LeaseLook) => () => look.nowMs + (performance.now() - look.at)
    /** The owner's row among the take's rows, decoded. */
    const ownerView = async (look: LeaseLook) => {
      const row = look.rows.find((candidate) => candidate.userId === userId)
      return row ? sync.viewOf(row) : null
    }
    return providerSlots.run(key.provider, settings.queueTimeoutMs, async () => {
      // Discovery needs no refresh token: done before the lease, so an attempt under it is one request.
      if (client.discoverable) await client.discover(settings.requestTimeoutMs).catch(() => undefined)
      return runLeaseFlight<Outcome, Granted>(
        leases,
        key,
        flight,
        {
          async poll(look) {
            const view = await ownerView(look)
            return view && mode.done(view.tokens, view, clockOf(look)())
              ? context.success(sync.toAdapterAccount(view), false)
              : undefined
          },
          async read(look) {
            storeNow = clockOf(look)
            const found = context.checkStored(key, userId, await ownerView(look), mode, storeNow())
            if ("outcome" in found) return { finish: found.outcome }
            checked = found
            return { send: found.refreshToken }
          },
          send: (refreshToken, beforeAttempt, lateAnswer) =>
            context.grant(client, refreshToken, beforeAttempt, lateAnswer),
          async write(result, lease) {
            const read = checked!
            const from = versionOf(read.stored.tokens)
            if (!result.ok)
              return context.failed(key, read, result, async (mark) => {
                // Only while the row still holds the refused token: a sign-in meanwhile brought a live one.
                if (reauthColumn)
                  await shortLocked(key, userId, async (now, locked) => {
                    if (now && leaseWriteOf(from, now.tokens) !== "superseded")
                      await sync.writeMark(locked, now, reauthColumn, mark)
                  })
              })
            // The provider may have rotated the refresh token: the write comes first, events after it.
            const reading = context.readAnswer(result.issued, read.entry, storeNow())
            onIssued(context.issuedEntry(read.stored, reading.tokens))
            const written =
              (await writeInOneStatement(key, userId, read.stored, reading.tokens, lease)) ??
              (await shortLocked(key, userId, (now, locked) =>
                writeLeaseAnswer(sync, locked, now, from, reading.tokens),
              ))
            result.reportIssued()
            if (written.kind !== "superseded") return context.answered(written.account, reading)
            // A newer sign-in or another holder won: callers get what is stored (our answer when it is stale).
            const stored = written.stored
            if (!stored) return { ok: false, error: new AccountNotLinkedError(key.provider) }
            if (context.freshTokens(stored.tokens, storeNow()))
              return context.success(sync.toAdapterAccount(stored), false)
            const unwritten = mergeTokens(stored.tokens, reading.tokens).merged
            return context.answered(sync.toAdapterAccount({ row: stored.row, tokens: unwritten }), reading)
          },
        },
        undefined,
        keptLease,
      )
    })
  }

  return {
    refresh,
    async settled(key) {
      const id = idOf(key)
      const held = keptLeases.get(id)
      if (!held) return
      keptLeases.delete(id)
      await leases.release(key, held).catch(() => undefined)
    },
  }
}
