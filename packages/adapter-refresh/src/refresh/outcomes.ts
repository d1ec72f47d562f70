/**
 * The steps both coordination modes share around one request: the checks on the row read under the lock or
 * lease (`checkStored`), the reading of the provider's answer, and the outcomes served. Functions over an
 * explicit context (the engine's kept tokens, re-authentication memory and settings) so they are tested with
 * in-memory fakes, without a database.
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { AccountSync, StoredView } from "../account-sync.js"
import { AccountNotLinkedError, ProviderUnavailableError, RefreshPersistError, RefreshTokenError } from "../errors.js"
import { mergeTokens, type TokenSet } from "../policy/merge.js"
import { REAUTH_MARK } from "../policy/reauth.js"
import { isRefreshTokenExpired } from "../policy/refresh-token-expiry.js"
import { setRefreshTokenExpiry } from "../account-sync.js"
import type { AccountKey } from "../store.js"
import type { AccessTokenResult, Answer, Checked, Outcome, RefreshMode } from "./engine-types.js"
import { deadGrantOf, failureDetails, type Granted } from "./grant.js"
import { MAX_PERSIST_ATTEMPTS, sameVersion, versionOf, type KeptTokens, type KeptTokenStore } from "./issued-tokens.js"
import type { IssuedResponse } from "./provider.js"
import type { ReauthMemory } from "./reauth-memory.js"
import { readTokenResponse } from "./token-response.js"

/** What the shared steps read: the engine's kept tokens, re-authentication memory and settings. */
export interface OutcomeContext {
  sync: Pick<AccountSync, "columns" | "toAdapterAccount">
  kept: Pick<KeptTokenStore, "get" | "drop" | "accountOf">
  reauth: Pick<ReauthMemory, "knownRefused" | "markedError" | "expiredError" | "reportDead" | "rememberRefused">
  reauthColumn: string | undefined
  /** The refresh token's expiry column (`refresh.refreshTokenExpiryColumn`), if any. */
  expiryColumn?: string | undefined
  skewSeconds: number
  minRefreshIntervalSeconds: number
  now: () => number
}

const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`

/** A served answer: the account's access token. */
export const success = (
  account: AdapterAccount,
  refreshed: boolean,
  extra: Partial<AccessTokenResult> = {},
): Outcome => ({
  ok: true,
  result: { accessToken: account.access_token as string, account, refreshed, ...extra },
})

/** The error telling a caller that the tokens `entry` holds are not stored (yet). */
export const persistErrorOf = (provider: string, entry: KeptTokens): RefreshPersistError =>
  new RefreshPersistError(provider, entry.lastFailure, entry.attempts, MAX_PERSIST_ATTEMPTS)

/** The answer served from kept (unwritten) tokens. */
export const fromKept = (
  context: Pick<OutcomeContext, "kept">,
  provider: string,
  entry: KeptTokens,
  refreshed: boolean,
): AccessTokenResult => {
  const account = context.kept.accountOf(entry)
  return {
    accessToken: account.access_token as string,
    account,
    refreshed,
    persistError: persistErrorOf(provider, entry),
  }
}

/**
 * The checks on the row read under the lock (lock mode) or the lease (lease mode), before any request:
 * the outcome when there is nothing to send, else what to send and what it was read from.
 */
export function checkStored(
  context: OutcomeContext,
  id: string,
  key: AccountKey,
  userId: string,
  stored: StoredView | null,
  mode: RefreshMode,
  nowMs?: number,
): { outcome: Outcome } | Checked {
  const { kept, reauth, sync } = context
  if (!stored || stored.row.userId !== userId)
    return { outcome: { ok: false, error: new AccountNotLinkedError(key.provider) } }
  // Kept tokens still apply only while the row holds what their refresh started from.
  let entry = kept.get(id)
  if (entry && !sameVersion(entry.from, stored.tokens)) {
    kept.drop(id)
    entry = undefined
  }
  const current: TokenSet = entry ? mergeTokens(stored.tokens, entry.tokens).merged : stored.tokens
  // Another process (or a sign-in) refreshed while we waited for the lock.
  if (mode.done(current, stored, nowMs)) {
    return {
      outcome: entry
        ? { ok: true, result: fromKept(context, key.provider, entry, false) }
        : success(sync.toAdapterAccount(stored), false),
    }
  }
  if (reauth.knownRefused(id, current))
    return { outcome: { ok: false, error: reauth.markedError(key, stored, current) } }
  if (knownExpired(context, current))
    return { outcome: { ok: false, error: reauth.expiredError(key, stored, current) } }
  const refreshToken = current.refresh_token
  if (typeof refreshToken !== "string" || refreshToken === "")
    return { outcome: { ok: false, error: new RefreshTokenError(key.provider, "missing_refresh_token") } }
  const stop = mode.beforeSend?.(current)
  if (stop) return { outcome: { ok: false, error: stop } }
  return { stored, entry, current, refreshToken }
}

/** A refused or failed request. A dead grant is reported and marked (`mark` writes the column, if any). */
export async function failed(
  context: Pick<OutcomeContext, "reauth" | "reauthColumn">,
  key: AccountKey,
  checked: Checked,
  result: Extract<Granted, { ok: false }>,
  mark: (value: string) => Promise<void>,
): Promise<Outcome> {
  const { reauth, reauthColumn } = context
  const dead = deadGrantOf(result.failure)
  if (!dead) {
    const details = failureDetails(result.failure)
    return { ok: false, error: new ProviderUnavailableError(key.provider, details, result.attempts) }
  }
  reauth.reportDead(key, checked.stored.row, checked.current, { reason: "refresh_token_refused", oauthError: dead })
  // Mark, never wipe: the tokens stay for inspection and a later sign-in replaces them.
  await mark(dead === "invalid_grant" ? REAUTH_MARK : dead)
  if (!reauthColumn) reauth.rememberRefused(idOf(key), checked.refreshToken)
  return { ok: false, error: new RefreshTokenError(key.provider, dead) }
}

/** The answer's columns to write (over kept tokens it was refreshed from). */
export function readAnswer(
  context: OutcomeContext,
  issued: IssuedResponse,
  entry: KeptTokens | undefined,
  nowMs: number = context.now(),
): Answer {
  const reading = readTokenResponse(issued.body, {
    columns: context.sync.columns,
    nowMs,
    minFreshSeconds: context.skewSeconds + context.minRefreshIntervalSeconds,
    idTokenValid: issued.idTokenValid,
    reservedColumn: context.reauthColumn,
  })
  const { expiryColumn } = context
  if (expiryColumn) setRefreshTokenExpiry(reading.tokens, issued.body, expiryColumn, context.now())
  const tokens = entry ? { ...entry.tokens, ...reading.tokens } : reading.tokens
  // A kept expiry described the kept refresh token, not a new one this answer brought without its own.
  if (expiryColumn && entry && reading.tokens.refresh_token !== undefined && !(expiryColumn in reading.tokens))
    delete tokens[expiryColumn]
  return { ...reading, tokens }
}

/** Whether the stored refresh token's expiry (the column) has passed by this process's clock. */
export const knownExpired = (context: Pick<OutcomeContext, "expiryColumn" | "now">, tokens: TokenSet): boolean =>
  context.expiryColumn !== undefined && isRefreshTokenExpired(tokens[context.expiryColumn], context.now())

/** What the issued tokens are kept as until written: the row they were refreshed from, and the answer. */
export const issuedEntry = (stored: StoredView, tokens: TokenSet): KeptTokens => ({
  from: versionOf(stored.tokens),
  base: stored,
  tokens,
  attempts: 0,
  lastFailure: {},
})

/** The outcome once the answer is stored. */
export function answered(account: AdapterAccount, reading: Answer): Outcome {
  if (reading.accessToken === undefined) {
    // Stored what was usable (the new refresh token); the caller still has no access token.
    const details = { kind: "malformed_response", detail: "no usable access_token" } as const
    return { ok: false, error: new ProviderUnavailableError(account.provider, details, 1) }
  }
  return success(account, true, reading.dropped.length ? { droppedFields: reading.dropped } : {})
}
