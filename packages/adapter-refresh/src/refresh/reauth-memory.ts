/**
 * What this process knows about accounts that need their user again, and how it says so: the refresh tokens
 * the provider refused (when no `reauthColumn` shares the mark), and the reauth events already published.
 * A class of its own so "reported once per process and dead token" is tested without a database.
 */
import type { StoredView } from "../account-sync.js"
import { RefreshTokenError } from "../errors.js"
import type { TokenSet } from "../policy/merge.js"
import { isMarkedForReauth } from "../policy/reauth.js"
import { publish, type ReauthEvent } from "../observability.js"
import type { AccountKey } from "../store.js"
import { BoundedMap, MAX_REFUSED_TOKENS } from "./bounded-map.js"
import type { AccountRef } from "./engine-types.js"

const idOf = (key: AccountKey): string => `${key.provider}\u001f${key.providerAccountId}`

/** The per-process re-authentication memory and the reauth channel's reports; ids are the engine's keys. */
export class ReauthMemory {
  /**
   * Per-process "needs re-authentication" memory: key -> the refresh token the provider refused. Bounded:
   * an evicted entry costs one more request with that dead token, refused again and remembered again.
   */
  private readonly refused = new BoundedMap<string, string>(MAX_REFUSED_TOKENS)
  /**
   * Per-process memory of the dead refresh tokens already reported on the reauth channel (key -> token), so
   * that "marked" is published once per process and dead token, not on every call. Bounded like `refused`:
   * an evicted entry costs one more event.
   */
  private readonly reported = new BoundedMap<string, string>(MAX_REFUSED_TOKENS)

  /** `storeName` names the store in events; `reauthColumn` is the shared mark's column, if any. */
  constructor(
    private readonly storeName: string,
    private readonly reauthColumn: string | undefined,
  ) {}

  /** Whether the provider already refused the stored refresh token (mark column or memory). */
  knownRefused(id: string, tokens: TokenSet): boolean {
    return (
      isMarkedForReauth(tokens, this.reauthColumn) ||
      (this.refused.has(id) && this.refused.get(id) === tokens.refresh_token)
    )
  }

  /** Remembers the refresh token the provider refused for `id` (used when no column holds the mark). */
  rememberRefused(id: string, refreshToken: string): void {
    this.refused.set(id, refreshToken)
  }

  /** Forgets a refusal: the account was refreshed since. */
  forgetRefused(id: string): void {
    this.refused.delete(id)
  }

  /** Publishes that `account` needs its user again. Names the account, never a token. */
  reportReauth(
    provider: string,
    account: AccountRef,
    details: Pick<ReauthEvent, "reason" | "oauthError" | "missingScopes" | "scopeSource">,
  ): void {
    publish("reauth", () => ({
      store: this.storeName,
      provider,
      userId: String(account.userId),
      providerAccountId: String(account.providerAccountId),
      ...details,
    }))
  }

  /** The refresh token `tokens` hold is dead: report it once per process (the first caller to learn it). */
  reportDead(
    key: AccountKey,
    account: AccountRef,
    tokens: TokenSet,
    details: Pick<ReauthEvent, "reason" | "oauthError">,
  ): void {
    const id = idOf(key)
    const token = typeof tokens.refresh_token === "string" ? tokens.refresh_token : ""
    if ((details.reason === "marked" || details.reason === "refresh_token_expired") && this.reported.get(id) === token)
      return
    this.reported.set(id, token)
    this.reportReauth(key.provider, account, details)
  }

  /** A refusal for a refresh token already known dead; "marked" is reported when the column says so. */
  markedError(key: AccountKey, stored: StoredView, tokens: TokenSet): RefreshTokenError {
    // Without the column the memory is this process's own, whose refusal was reported as it happened.
    if (isMarkedForReauth(tokens, this.reauthColumn)) this.reportDead(key, stored.row, tokens, { reason: "marked" })
    return new RefreshTokenError(key.provider, "marked")
  }

  /** A refusal, with no request, for a refresh token past its stored expiry; reported once per process and token. */
  expiredError(key: AccountKey, stored: StoredView, tokens: TokenSet): RefreshTokenError {
    this.reportDead(key, stored.row, tokens, { reason: "refresh_token_expired" })
    return new RefreshTokenError(key.provider, "expired")
  }
}
