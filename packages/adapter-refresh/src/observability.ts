/**
 * What the library reports about itself, on `node:diagnostics_channel` channels: every account write
 * (sign-in sync, link), every wait for an account's lock, every request to a provider's token endpoint,
 * every `getAccessToken`, every failure, with durations and outcomes, and every account found to need its
 * user again (`reauth`). Events never carry a token
 * value, a driver message or provider text: only names, counts, durations and this library's stable
 * error codes. Publishing costs nothing while no one subscribes (`hasSubscribers` is checked first).
 *
 * Subscribe with `diagnostics_channel.subscribe(TOKEN_SYNC_CHANNELS.refresh, (event) => ...)`; the
 * README shows an OpenTelemetry bridge.
 */
import diagnostics from "node:diagnostics_channel"
import { TokenSyncError, type InsufficientScopeSource, type TokenSyncErrorCode } from "./errors.js"

/** The channel names, one per kind of event. */
export const TOKEN_SYNC_CHANNELS = {
  /** {@link SyncEvent}: a sign-in's tokens written (events.signIn) or an account linked. */
  sync: "authjs-adapter-refresh:sync",
  /** {@link LockWaitEvent}: how long an operation waited for a connection and the account's lock. */
  lockWait: "authjs-adapter-refresh:lock-wait",
  /** {@link RefreshRequestEvent}: one refresh grant sent to a provider (with its retries). */
  refresh: "authjs-adapter-refresh:refresh",
  /** {@link AccessTokenEvent}: one `getAccessToken` call. */
  accessToken: "authjs-adapter-refresh:access-token",
  /** {@link FailureEvent}: any of the operations above that failed (a revocation reports on its own channel). */
  failure: "authjs-adapter-refresh:failure",
  /** {@link RevocationEvent}: one token revocation (RFC 7009) after an unlink, a deletion or a sign-out. */
  revocation: "authjs-adapter-refresh:revocation",
  /** {@link ReauthEvent}: an account needs its user again (sign in, or consent to more scopes). */
  reauth: "authjs-adapter-refresh:reauth",
} as const

/** A sign-in sync or a link, as written. */
export interface SyncEvent {
  store: string
  provider: string
  mode: "link" | "sync"
  /**
   * "inserted" a new row; "updated" the stored tokens; "unchanged": nothing newer to write; "skipped": no owner to
   * write for; "failed".
   */
  outcome: "inserted" | "updated" | "unchanged" | "skipped" | "failed"
  /** From the call to its commit (or failure), ms. */
  durationMs: number
  /** The library's error code when it failed with one. */
  errorCode?: TokenSyncErrorCode | undefined
}

/** One wait for a pooled connection, its BEGIN and the account's lock. */
export interface LockWaitEvent {
  store: string
  provider: string
  /** What held the lock: a sign-in write ("sync") or a refresh or a kept-token write ("refresh"). */
  purpose: "sync" | "refresh"
  /** From asking for the lock until the work under it started, ms. */
  waitMs: number
  outcome: "acquired" | "failed"
}

/** One refresh grant to a provider's token endpoint (retries included). */
export interface RefreshRequestEvent {
  store: string
  provider: string
  /** "issued": new tokens; "invalid_grant": the refresh token is dead; "failed": anything else (see `failureKind`). */
  outcome: "issued" | "invalid_grant" | "failed"
  /** The failure's kind (timeout, network, http_status, oauth_error, malformed_response, discovery). */
  failureKind?: string | undefined
  attempts: number
  /** All attempts and backoffs, ms. */
  durationMs: number
}

/** One `getAccessToken` call. */
export interface AccessTokenEvent {
  store: string
  provider: string
  /**
   * "fresh": the stored token was served; "cached": served from this process's token cache (`refresh.cache`),
   * no database round trip; "refreshed": this call's refresh issued it; "failed".
   */
  outcome: "fresh" | "cached" | "refreshed" | "failed"
  /** The token came from memory because the database refused its write (`result.persistError`). */
  notPersisted: boolean
  durationMs: number
  errorCode?: TokenSyncErrorCode | undefined
}

/** A failed operation. */
export interface FailureEvent {
  operation: "link" | "sync" | "access-token"
  store: string
  provider: string
  /** The library's stable error code, when the error is one of its own. */
  errorCode: TokenSyncErrorCode | undefined
  /** The error's class name (never its message). */
  errorName: string
}

/**
 * One token revocation (RFC 7009) at a provider, or why none was sent. The unlink, deletion or sign-out it
 * follows has succeeded whatever this says: a failure is only reported, here.
 */
export interface RevocationEvent {
  store: string
  provider: string
  /** What removed the tokens: `unlinkAccount`, `deleteUser`, or a sign-out (access token only). */
  trigger: "unlink" | "delete-user" | "sign-out"
  /** The kind of token revoked; absent when none could be read. */
  tokenType?: "refresh_token" | "access_token"
  /** "revoked": the endpoint answered 200; "failed": see `reason`. */
  outcome: "revoked" | "failed"
  /**
   * Why it failed: "timeout", "network", "http_status", "oauth_error" (see `oauthError`),
   * "malformed_response", "body_too_large", "discovery", "no_endpoint" (the metadata names none),
   * "insecure_endpoint" (not https nor loopback: nothing sent), "read_failed" (the store), "undecryptable".
   */
  reason?: string
  /** Whether the token was sent to the endpoint. */
  sent: boolean
  /** The endpoint's HTTP status, when it answered. */
  status?: number
  /** The endpoint's OAuth error code (RFC 6749 §5.2 characters only), never its description. */
  oauthError?: string
  /** From the start of the step that ended here (the read, or the request) to its outcome, ms. */
  durationMs: number
}

/**
 * Why an account needs its user again:
 * - "refresh_token_refused": the provider refused the refresh token (`invalid_grant`), or refused the refresh
 *   for its scope (`invalid_scope`: the user withdrew consent); see {@link ReauthEvent.oauthError}.
 * - "marked": this process found the account marked by another process (`refresh.reauthColumn`); the dead
 *   refresh token was not sent again.
 * - "scopes_missing": the grant lacks scopes a caller asked for (see {@link ReauthEvent.missingScopes}).
 * - "revoked": the account was unlinked and its grant revoked at the provider (`refresh.revocation`).
 * - "refresh_token_expired": the refresh token's stored expiry (`refresh.refreshTokenExpiryColumn`) has passed;
 *   nothing was sent. Once per process and dead refresh token, like "marked".
 */
export type ReauthReason = "refresh_token_refused" | "marked" | "scopes_missing" | "revoked" | "refresh_token_expired"

/**
 * An account needs its user again: the one place an app learns it, whatever the reason. Published where the
 * library finds it out, in the process that does: "refresh_token_refused" each time the provider refuses;
 * "marked" once per process and dead refresh token (the first time this process meets the mark); the others
 * each time they happen. Identifies the account, never carries a token.
 */
export interface ReauthEvent {
  store: string
  provider: string
  /** The account's owner, as the database stores it. */
  userId: string
  providerAccountId: string
  reason: ReauthReason
  /** For "refresh_token_refused": the OAuth error the provider answered (RFC 6749 §5.2). */
  oauthError?: "invalid_grant" | "invalid_scope"
  /** For "scopes_missing": the scopes the caller asked for that the grant lacks (scopes are not secrets). */
  missingScopes?: readonly string[]
  /** For "scopes_missing": where they were found missing (as `InsufficientScopeError.source`). */
  scopeSource?: InsufficientScopeSource
}

const channels = {
  sync: diagnostics.channel(TOKEN_SYNC_CHANNELS.sync),
  lockWait: diagnostics.channel(TOKEN_SYNC_CHANNELS.lockWait),
  refresh: diagnostics.channel(TOKEN_SYNC_CHANNELS.refresh),
  accessToken: diagnostics.channel(TOKEN_SYNC_CHANNELS.accessToken),
  failure: diagnostics.channel(TOKEN_SYNC_CHANNELS.failure),
  revocation: diagnostics.channel(TOKEN_SYNC_CHANNELS.revocation),
  reauth: diagnostics.channel(TOKEN_SYNC_CHANNELS.reauth),
}

interface EventOf {
  sync: SyncEvent
  lockWait: LockWaitEvent
  refresh: RefreshRequestEvent
  accessToken: AccessTokenEvent
  failure: FailureEvent
  revocation: RevocationEvent
  reauth: ReauthEvent
}

/** Publishes when someone listens. A subscriber that throws must not break the operation. @internal */
export function publish<K extends keyof EventOf>(kind: K, event: () => EventOf[K]): void {
  const channel = channels[kind]
  if (!channel.hasSubscribers) return
  try {
    channel.publish(event())
  } catch {
    // diagnostics_channel reports a subscriber's exception on process 'uncaughtException' asynchronously;
    // building the event itself does not throw. Nothing to do here.
  }
}

/** The stable code of one of the library's errors, else undefined. @internal */
export function errorCodeOf(error: unknown): TokenSyncErrorCode | undefined {
  return error instanceof TokenSyncError ? error.code : undefined
}

/** The provider id of an operation's input (a caller's, so possibly anything), for its events. @internal */
export function providerOf(input: unknown): string {
  const provider = typeof input === "object" && input !== null ? (input as { provider?: unknown }).provider : undefined
  return typeof provider === "string" ? provider : "(none)"
}

/** The class name of an error, never its message. @internal */
export function errorNameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded to 0.01 ms. @internal */
export const elapsedMs = (start: number): number => Math.round((performance.now() - start) * 100) / 100
