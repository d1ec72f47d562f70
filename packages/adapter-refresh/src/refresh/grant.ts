/**
 * One refresh grant with its retry-safe retries, and what its failures mean. Shared by lock mode (sent
 * under the account lock) and lease mode (sent outside any transaction, each attempt cleared first by the
 * lease's deadline rule through `beforeAttempt`).
 */
import type { ProviderUnavailableError } from "../errors.js"
import { elapsedMs, publish, type RefreshRequestEvent } from "../observability.js"
import type { GrantFailure, IssuedResponse, LateAnswer, ProviderClient } from "./provider.js"

/** The request's outcome. "issued" is reported by the caller once it stored the answer (the write comes first). */
export type Granted =
  | { ok: true; issued: IssuedResponse; reportIssued: () => void }
  | { ok: false; failure: GrantFailure; attempts: number }

export interface GrantSettings {
  storeName: string
  requestTimeoutMs: number
  retries: number
  backoffMs: number
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Sends the refresh request; retries only failures that certainly did not reach grant processing.
 * `beforeAttempt` runs before each attempt (after the backoff) and throws to stop without sending;
 * `lateAnswer` decides whether an attempt unanswered at `requestTimeoutMs` waits longer (provider.ts).
 */
export async function sendGrant(
  client: ProviderClient,
  refreshToken: string,
  settings: GrantSettings,
  beforeAttempt?: (attempt: number) => Promise<void>,
  lateAnswer?: LateAnswer,
): Promise<Granted> {
  const { storeName, requestTimeoutMs, retries, backoffMs } = settings
  const started = performance.now()
  const report = (outcome: RefreshRequestEvent["outcome"], attempts: number, failureKind?: string) =>
    publish("refresh", () => ({
      store: storeName,
      provider: client.provider.id,
      outcome,
      failureKind,
      attempts,
      durationMs: elapsedMs(started),
    }))
  for (let attempt = 1; ; attempt++) {
    await beforeAttempt?.(attempt)
    const result = await client.refresh(refreshToken, requestTimeoutMs, lateAnswer)
    if (result.ok) return { ok: true, issued: result.issued, reportIssued: () => report("issued", attempt) }
    if (attempt > retries || !retrySafe(result.failure)) {
      if (result.failure.kind === "invalid_grant") report("invalid_grant", attempt)
      else report("failed", attempt, result.failure.kind)
      return { ok: false, failure: result.failure, attempts: attempt }
    }
    await sleep(backoffMs * 2 ** (attempt - 1) + Math.floor(Math.random() * backoffMs))
  }
}

export function failureDetails(failure: GrantFailure): ConstructorParameters<typeof ProviderUnavailableError>[1] {
  switch (failure.kind) {
    case "invalid_grant":
      return { kind: "oauth_error", oauthError: "invalid_grant" }
    case "oauth_error":
      return { kind: "oauth_error", status: failure.status, oauthError: failure.oauthError }
    case "http_status":
      return { kind: "http_status", status: failure.status, detail: failure.detail }
    case "timeout":
      return { kind: "timeout" }
    case "network":
      return { kind: "network", detail: failure.detail }
    case "malformed_response":
      return { kind: "malformed_response", detail: failure.detail }
    case "discovery":
      return { kind: "discovery", detail: failure.detail }
  }
}

/**
 * The refusals that mean the grant is dead: the user must sign in (or consent) again, and the refresh token
 * must not be sent again. `invalid_grant` (RFC 6749 §5.2) says so directly. `invalid_scope` on a refresh
 * does too: our refresh request sends no `scope` parameter, which RFC 6749 §6 reads as "the scope originally
 * granted", so the provider can only mean that the grant no longer covers its own scope: the user withdrew
 * consent (Keycloak: "Client no longer has requested consent from user"). Retrying cannot change that; only
 * a new authorization can. A provider reconfigured to refuse a scope its clients were granted lands here
 * too, and rightly so: those grants need a new sign-in as well.
 */
export function deadGrantOf(failure: GrantFailure): "invalid_grant" | "invalid_scope" | undefined {
  if (failure.kind === "invalid_grant") return "invalid_grant"
  if (failure.kind === "oauth_error" && failure.oauthError === "invalid_scope") return "invalid_scope"
  return undefined
}

export const retrySafe = (failure: GrantFailure): boolean =>
  failure.kind === "discovery" || ("retrySafe" in failure && failure.retrySafe)
