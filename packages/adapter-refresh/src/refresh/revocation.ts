/**
 * RFC 7009 token revocation when an account leaves: on `unlinkAccount` and `deleteUser` the stored refresh
 * token (the access token when the row has none) is revoked at the provider, and, opted in per provider, the
 * access token on sign-out. Opt-in per provider (`refresh.revocation`).
 *
 * Order: the tokens are read (decrypted) before the row goes, the wrapped adapter deletes it, then the
 * request is sent, bounded by `timeoutMs`. It never fails the unlink or the deletion: every outcome is
 * a `RevocationEvent` on the diagnostics channel, with the provider and a reason, never the token. Best
 * effort: a crash between the delete and the request leaves the grant alive at the provider.
 *
 * A token goes only to an endpoint that passes the rule the token endpoint passes (https; plain http only on
 * loopback, unless `allowInsecureRequests`), configured or discovered. The endpoint's body is untrusted:
 * read only on an error status, bounded in size, and only its OAuth error code is kept.
 */
import * as oauth from "oauth4webapi"
import type { AccountSync } from "../account-sync.js"
import { InvalidOptionsError } from "../errors.js"
import { elapsedMs, publish, type RevocationEvent } from "../observability.js"
import type { AccountKey, AccountStore, StoredAccountRow } from "../store.js"
import { MAX_TOKEN_BODY_BYTES, boundedCopy } from "./bounded-body.js"
import {
  classify,
  endpointAllowed,
  isTimeout,
  ProviderClient,
  resolveProvider,
  type RefreshProviderConfig,
} from "./provider.js"

/**
 * `refresh.revocation`: which providers' tokens are revoked (RFC 7009) when an account is unlinked or its
 * user deleted, and optionally on sign-out.
 */
export interface RevocationOptions {
  /**
   * The providers to revoke at, by id (each must be in `refresh.providers`, whose client credentials are
   * used), or with settings. Only these are revoked at: the opt-in is per provider.
   */
  providers: readonly (string | RevocationProviderOptions)[]
  /**
   * Longest the revocation of one unlink, deletion or sign-out may take (discovery included), in ms; the
   * call it follows waits for it at most this long. Default 5 000.
   */
  timeoutMs?: number
}

/** One provider's revocation settings. */
export interface RevocationProviderOptions {
  /** The provider's id, as in `refresh.providers`. */
  id: string
  /**
   * The revocation endpoint. Default: `revocation_endpoint` of the provider's discovered metadata (from
   * its `issuer` or `wellKnown`). https, or plain http on a loopback host only.
   */
  endpoint?: string | URL
  /**
   * Also revoke the ACCESS token when the user signs out (the stored one is then marked expired, so the
   * next `getAccessToken` refreshes). Never the refresh token: that would end the user's other devices
   * and offline jobs. Default false.
   */
  onSignOut?: boolean
}

/** What started a revocation. */
export type RevocationTrigger = RevocationEvent["trigger"]

/** A token read before its row went, waiting to be revoked. Never logged. */
export interface PendingRevocation {
  provider: string
  tokenType: "refresh_token" | "access_token"
  token: string
  /** The account the token belonged to (for the reauth event after an unlink). */
  userId?: string
  providerAccountId?: string
}

export interface Revoker {
  /** Whether some provider revokes on sign-out (`onSignOut`). */
  readonly onSignOutEnabled: boolean
  /** Tokens of the rows of `ref`'s key, read (decrypted) before the unlink. Never throws. */
  beforeUnlink(ref: unknown): Promise<PendingRevocation[]>
  /** Tokens of the user's accounts at the opted-in providers, read before the deletion. Never throws. */
  beforeDeleteUser(id: unknown): Promise<PendingRevocation[]>
  /** Sends the revocations, bounded by `timeoutMs`. Never throws. */
  send(pending: readonly PendingRevocation[], trigger: RevocationTrigger): Promise<void>
  /** Sign-out: the access tokens of the user's accounts at providers with `onSignOut`. Never throws. */
  onSignOut(userId: string): Promise<void>
}

interface ProviderRevocation {
  client: ProviderClient
  endpoint: string | undefined
  onSignOut: boolean
}

const DEFAULT_TIMEOUT_MS = 5_000
const OPTION = "refresh.revocation"

const asText = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" || typeof value === "bigint" ? String(value) : undefined

/** Checks `refresh.revocation` and resolves each provider's client; throws `InvalidOptionsError`. @internal */
export function resolveRevocation(
  options: RevocationOptions,
  providers: readonly RefreshProviderConfig[],
  allowInsecureRequests: boolean,
  sharedClient: (providerId: string) => ProviderClient | undefined = () => undefined,
): Map<string, ProviderRevocation> {
  if (typeof options !== "object" || options === null)
    throw new InvalidOptionsError(OPTION, `${OPTION} must be an object`)
  const { timeoutMs } = options
  if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0))
    throw new InvalidOptionsError(
      `${OPTION}.timeoutMs`,
      `${OPTION}.timeoutMs must be a positive integer (milliseconds)`,
    )
  if (!Array.isArray(options.providers))
    throw new InvalidOptionsError(`${OPTION}.providers`, `${OPTION}.providers must be an array of provider ids`)
  const configs = new Map<string, RefreshProviderConfig>()
  for (const config of providers) configs.set(resolveProvider(config, allowInsecureRequests).id, config)
  const out = new Map<string, ProviderRevocation>()
  for (const entry of options.providers as readonly unknown[]) {
    const settings = (typeof entry === "string" ? { id: entry } : entry) as Partial<RevocationProviderOptions>
    const field = `${OPTION}.providers`
    if (typeof settings !== "object" || settings === null || typeof settings.id !== "string")
      throw new InvalidOptionsError(field, `${field} must hold provider ids or { id, endpoint?, onSignOut? } objects`)
    const id = settings.id
    const config = configs.get(id)
    if (!config) throw new InvalidOptionsError(field, `${field} names "${id}", which is not in refresh.providers`)
    if (out.has(id)) throw new InvalidOptionsError(field, `${field} names "${id}" twice`)
    if (settings.onSignOut !== undefined && typeof settings.onSignOut !== "boolean")
      throw new InvalidOptionsError(field, `${field}: onSignOut of "${id}" must be a boolean`)
    // The refresh engine's client when there is one: its discovered metadata serves both.
    const client = sharedClient(id) ?? new ProviderClient(resolveProvider(config, allowInsecureRequests))
    const endpoint = settings.endpoint === undefined ? undefined : String(settings.endpoint)
    if (endpoint !== undefined && !endpointAllowed(endpoint, allowInsecureRequests)) {
      throw new InvalidOptionsError(
        field,
        `${field}: the endpoint of "${id}" must be an https URL (plain http only on a loopback host)`,
      )
    }
    if (endpoint === undefined && !client.discoverable) {
      throw new InvalidOptionsError(
        field,
        `${field}: "${id}" has no issuer or wellKnown to discover its revocation_endpoint from: give endpoint`,
      )
    }
    out.set(id, { client, endpoint, onSignOut: settings.onSignOut === true })
  }
  return out
}

/** Rejects when `signal` aborts first, so a shared discovery cannot outlast this caller's bound. */
function within<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort)
        reject(error instanceof Error ? error : new Error(String(error)))
      },
    )
  })
}

type Outcome = Omit<RevocationEvent, "store" | "provider" | "trigger" | "tokenType" | "durationMs">

export function createRevoker(
  store: AccountStore,
  sync: AccountSync,
  options: RevocationOptions,
  refresh: { providers: readonly RefreshProviderConfig[]; allowInsecureRequests?: boolean; lockTimeoutMs?: number },
  now: () => number = Date.now,
  sharedClient?: (providerId: string) => ProviderClient | undefined,
): Revoker {
  const allowInsecureRequests = refresh.allowInsecureRequests === true
  const providers = resolveRevocation(options, refresh.providers, allowInsecureRequests, sharedClient)
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const lockOptions = { lockTimeoutMs: refresh.lockTimeoutMs || 10_000 }

  const report = (
    trigger: RevocationTrigger,
    provider: string,
    tokenType: PendingRevocation["tokenType"] | undefined,
    started: number,
    outcome: Outcome,
  ) =>
    publish("revocation", () => ({
      store: store.name,
      provider,
      trigger,
      ...(tokenType ? { tokenType } : {}),
      ...outcome,
      durationMs: elapsedMs(started),
    }))

  /** The token to revoke of each row: its refresh token, else its access token; each token once. */
  async function pendingOf(
    rows: readonly StoredAccountRow[],
    provider: string,
    trigger: RevocationTrigger,
  ): Promise<PendingRevocation[]> {
    const out: PendingRevocation[] = []
    for (const row of rows) {
      const started = performance.now()
      let tokens: Record<string, unknown>
      try {
        tokens = (await sync.viewOf(row)).tokens
      } catch {
        report(trigger, provider, undefined, started, { outcome: "failed", reason: "undecryptable", sent: false })
        continue
      }
      const pick = (type: PendingRevocation["tokenType"]) =>
        typeof tokens[type] === "string" && tokens[type] !== "" ? (tokens[type] as string) : undefined
      const refreshToken = pick("refresh_token")
      const account = { userId: row.userId, providerAccountId: row.providerAccountId }
      const pending: PendingRevocation | undefined = refreshToken
        ? { provider, tokenType: "refresh_token", token: refreshToken, ...account }
        : pick("access_token")
          ? { provider, tokenType: "access_token", token: pick("access_token")!, ...account }
          : undefined
      if (pending && !out.some((p) => p.token === pending.token)) out.push(pending)
    }
    return out
  }

  async function revokeOne(pending: PendingRevocation, trigger: RevocationTrigger, signal: AbortSignal) {
    const started = performance.now()
    const done = (outcome: Outcome) => report(trigger, pending.provider, pending.tokenType, started, outcome)
    const { client, endpoint: configured } = providers.get(pending.provider)!
    let endpoint = configured
    if (endpoint === undefined) {
      try {
        endpoint = (await within(client.discover(timeoutMs), signal)).revocation_endpoint
      } catch (error) {
        return done({ outcome: "failed", reason: isTimeout(error) ? "timeout" : "discovery", sent: false })
      }
      if (typeof endpoint !== "string" || endpoint === "")
        return done({ outcome: "failed", reason: "no_endpoint", sent: false })
    }
    // The token endpoint's rule: no token in clear text off this machine (unless allowInsecureRequests).
    if (!endpointAllowed(endpoint, allowInsecureRequests))
      return done({ outcome: "failed", reason: "insecure_endpoint", sent: false })
    const as: oauth.AuthorizationServer = {
      issuer: client.provider.issuer ?? new URL(endpoint).origin,
      revocation_endpoint: endpoint,
    }
    let status: number | undefined
    try {
      const response = await oauth.revocationRequest(
        as,
        { client_id: client.provider.clientId },
        client.clientAuth(),
        pending.token,
        {
          additionalParameters: { token_type_hint: pending.tokenType },
          signal,
          ...(endpoint.startsWith("http:") ? { [oauth.allowInsecureRequests]: true } : {}),
        },
      )
      status = response.status
      if (status === 200) {
        // RFC 7009 §2.2: 200 whether or not the token was valid; its body means nothing.
        await response.body?.cancel().catch(() => {})
        done({ outcome: "revoked", sent: true, status })
        // An unlinked account whose grant is gone at the provider: only the user can link it again. (A deleted
        // user has no one to ask; a sign-out revokes an access token only, and the grant lives on.)
        if (trigger === "unlink" && pending.userId !== undefined && pending.providerAccountId !== undefined) {
          const { userId, providerAccountId } = pending
          publish("reauth", () => ({
            store: store.name,
            provider: pending.provider,
            userId,
            providerAccountId,
            reason: "revoked",
          }))
        }
        return
      }
      const copy = await boundedCopy(response, MAX_TOKEN_BODY_BYTES)
      if (copy === undefined) return done({ outcome: "failed", reason: "body_too_large", sent: true, status })
      // oauth4webapi reads the OAuth error from the (now bounded) body and throws it; only the code is kept.
      await oauth.processRevocationResponse(copy)
      return done({ outcome: "failed", reason: "http_status", sent: true, status })
    } catch (error) {
      const failure = classify(error)
      return done({
        outcome: "failed",
        reason: failure.kind === "invalid_grant" ? "oauth_error" : failure.kind,
        sent: !(failure.kind === "network" && failure.retrySafe),
        ...(status !== undefined ? { status } : "status" in failure ? { status: failure.status } : {}),
        ...(failure.kind === "oauth_error"
          ? { oauthError: failure.oauthError }
          : failure.kind === "invalid_grant"
            ? { oauthError: "invalid_grant" }
            : {}),
      })
    }
  }

  async function send(pending: readonly PendingRevocation[], trigger: RevocationTrigger): Promise<void> {
    if (pending.length === 0) return
    const signal = AbortSignal.timeout(timeoutMs)
    // In parallel: the bound holds for all of them together.
    await Promise.all(pending.map((p) => revokeOne(p, trigger, signal).catch(() => {})))
  }

  /** A store failure while reading what to revoke: reported, nothing revoked, the caller goes on. */
  const readFailed = (trigger: RevocationTrigger, provider: string, started: number) =>
    report(trigger, provider, undefined, started, { outcome: "failed", reason: "read_failed", sent: false })

  return {
    onSignOutEnabled: [...providers.values()].some((settings) => settings.onSignOut),

    async beforeUnlink(ref) {
      const input = (typeof ref === "object" && ref !== null ? ref : {}) as Record<string, unknown>
      const provider = asText(input.provider)
      const providerAccountId = asText(input.providerAccountId)
      if (provider === undefined || providerAccountId === undefined || !providers.has(provider)) return []
      const key: AccountKey = { provider, providerAccountId }
      const started = performance.now()
      try {
        const rows = await store.withAccountLock(key, (locked) => locked.readAll(), lockOptions)
        return await pendingOf(rows, provider, "unlink")
      } catch {
        readFailed("unlink", provider, started)
        return []
      }
    },

    async beforeDeleteUser(id) {
      const userId = asText(id)
      if (userId === undefined) return []
      const lists = await Promise.all(
        [...providers.keys()].map(async (provider) => {
          const started = performance.now()
          try {
            return await pendingOf(await store.findAccounts(userId, provider), provider, "delete-user")
          } catch {
            readFailed("delete-user", provider, started)
            return []
          }
        }),
      )
      return lists.flat()
    },

    send,

    async onSignOut(userId) {
      const pending: PendingRevocation[] = []
      for (const [provider, settings] of providers) {
        if (!settings.onSignOut) continue
        const started = performance.now()
        try {
          for (const row of await store.findAccounts(userId, provider)) {
            const key: AccountKey = { provider, providerAccountId: row.providerAccountId }
            // Under the key's lock: the row still holds that access token, so it is marked expired (the next
            // getAccessToken refreshes instead of serving a revoked token) before it is revoked.
            const token = await store.withAccountLock(
              key,
              async (locked) => {
                const own = (await locked.readAll()).find((candidate) => candidate.userId === row.userId)
                if (!own) return undefined
                const access = (await sync.viewOf(own)).tokens.access_token
                if (typeof access !== "string" || access === "") return undefined
                await locked.update({ tokens: { expires_at: Math.floor(now() / 1000) - 1 } }, { userId: own.userId })
                return access
              },
              lockOptions,
            )
            if (token !== undefined) pending.push({ provider, tokenType: "access_token", token })
          }
        } catch {
          readFailed("sign-out", provider, started)
        }
      }
      await send(pending, "sign-out")
    },
  }
}
