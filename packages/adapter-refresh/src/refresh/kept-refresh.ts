/**
 * One refresh in either mode whose issued tokens are never lost: when the write (or the commit) fails after
 * the provider issued, they are kept in memory (issued-tokens.ts), written again a little right away, and
 * served meanwhile with a persist error; kept tokens are written first on the next slow path. A module of its
 * own so engine.ts keeps the orchestration, and this is tested with fakes, without a database.
 */
import type { TokenSet } from "../policy/merge.js"
import { RefreshLockTimeoutError } from "../errors.js"
import type { AccountKey } from "../store.js"
import { SlotWaitTimeout, StartTimeout } from "./coordination.js"
import type { AccessTokenResult, Outcome, RefreshMode } from "./engine-types.js"
import { persistFailureOf, type KeptTokens, type KeptTokenStore } from "./issued-tokens.js"
import type { LeaseRefresh } from "./lease-refresh.js"
import type { LockRefresh } from "./lock-refresh.js"
import type { ProviderClient } from "./provider.js"
import type { ReauthMemory } from "./reauth-memory.js"

/** What the kept-token refresh takes from the engine: the kept tokens, both modes' refreshes, the helpers. */
export interface KeptRefreshContext {
  kept: Pick<KeptTokenStore, "get" | "keep" | "drop" | "failed" | "writable" | "write" | "accountOf">
  /** Lease mode's refresh, when it is the mode; else lock mode's runs. */
  leaseRefresh: Pick<LeaseRefresh, "refresh" | "settled"> | undefined
  lockRefresh: LockRefresh
  reauth: Pick<ReauthMemory, "forgetRefused">
  queueTimeoutMs: number
  /** getAccessToken's mode, the default. */
  onDemand: RefreshMode
  freshTokens(tokens: TokenSet): boolean
  fromKept(provider: string, entry: KeptTokens, refreshed: boolean): AccessTokenResult
  /** A store failure before the provider was called, as a typed error. */
  storeError(error: unknown, provider: string, lockWaitMs: number): unknown
}

/** The refresh of one account and its slow path, both keeping issued tokens a write refused. */
export interface KeptRefresh {
  refresh(key: AccountKey, userId: string, client: ProviderClient, mode?: RefreshMode): Promise<AccessTokenResult>
  slowPath(
    key: AccountKey,
    userId: string,
    client: ProviderClient,
    mode?: RefreshMode,
    fresh?: (tokens: TokenSet) => boolean,
  ): Promise<AccessTokenResult>
}

/** Write retries right after a failed write under the refresh's lock (a transient failure). */
const IMMEDIATE_RETRIES = 2
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`

/** The kept-token refresh over the engine's parts (`context`). */
export function createKeptRefresh(context: KeptRefreshContext): KeptRefresh {
  const { kept, leaseRefresh, lockRefresh, reauth, queueTimeoutMs, onDemand, freshTokens, fromKept, storeError } =
    context

  /** Refresh (or re-check) under the lock, within a refresh slot; keeps issued tokens a write refused. */
  async function refresh(
    key: AccountKey,
    userId: string,
    client: ProviderClient,
    mode: RefreshMode = onDemand,
    depth = 0,
  ): Promise<AccessTokenResult> {
    const id = idOf(key)
    let issued: KeptTokens | undefined
    let outcome: Outcome
    try {
      const onIssued = (entry: KeptTokens): void => void (issued = entry)
      outcome = leaseRefresh
        ? await leaseRefresh.refresh(key, userId, client, onIssued, mode)
        : await lockRefresh.refresh(key, userId, client, onIssued, mode)
    } catch (error) {
      if (error instanceof SlotWaitTimeout)
        throw new RefreshLockTimeoutError(key.provider, queueTimeoutMs, "refresh_slot")
      if (!issued) throw storeError(error, key.provider, mode.lockOptions.lockTimeoutMs)
      // The write (or the commit) failed after the provider issued new tokens: keep them, retry a little.
      const entry: KeptTokens = issued
      kept.keep(id, entry)
      kept.failed(entry, persistFailureOf(error, error instanceof StartTimeout))
      // A lock not granted in time will not be granted right away either: no immediate retries then.
      for (
        let retry = 0;
        retry < IMMEDIATE_RETRIES && !entry.lastFailure.lockTimeout && kept.writable(entry);
        retry++
      ) {
        await sleep(100 * 2 ** retry)
        const written = await kept.write(key, id)
        if (written.kind !== "failed") await leaseRefresh?.settled(key)
        if (written.kind === "written")
          return { accessToken: written.account.access_token as string, account: written.account, refreshed: true }
        // Superseded by a newer write (a sign-in) meanwhile: start over from what is stored now.
        if (written.kind === "superseded")
          return depth < 2 ? refresh(key, userId, client, mode, depth + 1) : fromKept(key.provider, entry, true)
      }
      return fromKept(key.provider, entry, true)
    }
    if (!outcome.ok) throw outcome.error
    if (outcome.result.refreshed) reauth.forgetRefused(id)
    if (outcome.result.refreshed) kept.drop(id)
    return outcome.result
  }

  /**
   * The slow path of one account (single-flighted): write kept tokens first, then refresh if due. `fresh`
   * says whether tokens need nothing more (a refused token's mode adds "not the refused one").
   */
  async function slowPath(
    key: AccountKey,
    userId: string,
    client: ProviderClient,
    mode: RefreshMode = onDemand,
    fresh: (tokens: TokenSet) => boolean = freshTokens,
  ): Promise<AccessTokenResult> {
    const id = idOf(key)
    const entry = kept.get(id)
    if (entry && kept.writable(entry)) {
      const written = await kept.write(key, id)
      if (written.kind !== "failed") await leaseRefresh?.settled(key)
      if (written.kind === "written" && fresh(written.account as unknown as TokenSet)) {
        return { accessToken: written.account.access_token as string, account: written.account, refreshed: false }
      }
      if (written.kind === "failed" && fresh(kept.accountOf(entry) as unknown as TokenSet))
        return fromKept(key.provider, entry, false)
    }
    return refresh(key, userId, client, mode)
  }

  return { refresh, slowPath }
}
