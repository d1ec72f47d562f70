/**
 * Lock mode's refresh: within one of this process's refresh slots, a transaction holding the account lock
 * re-reads the row, sends the request while the lock is held (bounded by `requestTimeoutMs`) and writes the
 * answer before it commits. A module of its own, like lease mode's (lease-refresh.ts), so that engine.ts
 * keeps only what both modes share.
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { AccountSync, StoredView } from "../account-sync.js"
import { boundedStart } from "../bounded-wait.js"
import type { TokenSet } from "../policy/merge.js"
import type { AccountKey } from "../store.js"
import { Semaphore, StartTimeout } from "./coordination.js"
import type { Answer, Checked, CoordinatedRefresh, Outcome, RefreshMode } from "./engine-types.js"
import type { Granted } from "./grant.js"
import type { KeptTokens } from "./issued-tokens.js"
import type { IssuedResponse, ProviderClient } from "./provider.js"

/** What lock mode takes from the engine: its settings and the steps both modes share (outcomes.ts). */
export interface LockRefreshContext {
  sync: Pick<AccountSync, "withStoredAccount" | "writeMark" | "writeMerged">
  reauthColumn: string | undefined
  settings: { maxConcurrentRefreshes: number; queueTimeoutMs: number }
  checkStored(
    key: AccountKey,
    userId: string,
    stored: StoredView | null,
    mode: RefreshMode,
  ): { outcome: Outcome } | Checked
  grant(client: ProviderClient, refreshToken: string): Promise<Granted>
  failed(
    key: AccountKey,
    checked: Checked,
    result: Extract<Granted, { ok: false }>,
    mark: (value: string) => Promise<void>,
  ): Promise<Outcome>
  readAnswer(issued: IssuedResponse, entry: KeptTokens | undefined): Answer
  issuedEntry(stored: StoredView, tokens: TokenSet): KeptTokens
  answered(account: AdapterAccount, reading: Answer): Outcome
}

/** Lock mode's refresh, the same shape as lease mode's `LeaseRefresh.refresh`. */
export interface LockRefresh {
  /** Throws SlotWaitTimeout when no refresh slot frees within `queueTimeoutMs`. */
  refresh: CoordinatedRefresh
}

/** Lock mode's refresh over the engine's shared steps, with its own refresh slots. */
export function createLockRefresh(context: LockRefreshContext): LockRefresh {
  const { sync, reauthColumn, settings } = context
  const { checkStored, grant, failed, readAnswer, issuedEntry, answered } = context
  // Lock mode's per-process cap; lease mode holds nothing the pool would miss (per-provider limits only).
  const slots = new Semaphore(settings.maxConcurrentRefreshes)

  function lockedRefresh(
    key: AccountKey,
    userId: string,
    client: ProviderClient,
    onIssued: (entry: KeptTokens) => void,
    mode: RefreshMode,
  ): Promise<Outcome> {
    const bound = 2 * mode.lockOptions.lockTimeoutMs
    return boundedStart(
      bound,
      () => new StartTimeout(),
      (begin, abandoned) =>
        sync.withStoredAccount(
          key,
          async (stored, locked): Promise<Outcome> => {
            begin()
            const checked = checkStored(key, userId, stored, mode)
            if ("outcome" in checked) return checked.outcome
            const result = await grant(client, checked.refreshToken)
            if (!result.ok)
              return failed(key, checked, result, async (mark) => {
                if (reauthColumn) await sync.writeMark(locked, checked.stored, reauthColumn, mark)
              })
            // From here on the provider may have rotated the refresh token: these tokens must not be lost.
            result.reportIssued()
            const reading = readAnswer(result.issued, checked.entry)
            onIssued(issuedEntry(checked.stored, reading.tokens))
            return answered(await sync.writeMerged(locked, checked.stored, reading.tokens, "refresh"), reading)
          },
          { ...mode.lockOptions, signal: abandoned },
          userId,
        ),
    )
  }

  return {
    refresh: (key, userId, client, onIssued, mode) =>
      slots.run(settings.queueTimeoutMs, () => lockedRefresh(key, userId, client, onIssued, mode)),
  }
}
