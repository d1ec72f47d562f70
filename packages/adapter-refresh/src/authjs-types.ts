/**
 * The Auth.js shapes this library takes and returns, written structurally so that next-auth v4
 * (`next-auth/adapters`, account types "oauth" | "email" | "credentials", `token_type: Lowercase<string>`),
 * next-auth v5 and @auth/core (`@auth/core/adapters`, with "oidc" and "webauthn") all fit without casts.
 * The library imports no Auth.js package, neither at run time nor in its published types, which is why it
 * has no `@auth/core` peer: next-auth 4 pins an optional `@auth/core@0.34.3` peer of its own.
 */

/** An account as the wrapper returns it from the store: the keys, the owner and the stored tokens. */
export interface AdapterAccount {
  userId: string
  /** As stored: "oauth" or "oidc" (v5 signs OIDC providers in as "oidc", v4 as "oauth"), "email", ... */
  type: string
  provider: string
  providerAccountId: string
  access_token?: string
  refresh_token?: string
  /** Epoch seconds. */
  expires_at?: number
  id_token?: string
  scope?: string
  token_type?: string
  session_state?: string
  [field: string]: unknown
}

/** Stored account types are plain strings here: the database may hold any of them. */
export type AdapterAccountType = AdapterAccount["type"]

/** What every Auth.js version passes to `linkAccount` (its own `AdapterAccount` has at least these). */
export interface LinkableAccount {
  userId: string
  type: string
  provider: string
  providerAccountId: string
}

/** A user as adapters return it; both versions' `AdapterUser` accept this shape. */
export interface AdapterUser {
  id: string
  email: string
  emailVerified: Date | null
  name?: string | null
  image?: string | null
}

/**
 * The adapter methods Auth.js knows, as far as the wrapper needs them: it calls `getUserByAccount` (with
 * the keys), `getAccount` and `unlinkAccount` (to decrypt their results) and passes every other method
 * through unchanged. Listing the names keeps any real
 * adapter, v4 or v5, assignable while a value that shares no method with an adapter is refused.
 */
export interface AuthjsAdapter {
  getUserByAccount?: (ref: { provider: string; providerAccountId: string }) => unknown
  createUser?: unknown
  getUser?: unknown
  getUserByEmail?: unknown
  updateUser?: unknown
  deleteUser?: unknown
  linkAccount?: unknown
  unlinkAccount?: (ref: { provider: string; providerAccountId: string }) => unknown
  getAccount?: (providerAccountId: string, provider: string) => unknown
  createSession?: unknown
  getSessionAndUser?: unknown
  updateSession?: unknown
  deleteSession?: unknown
  createVerificationToken?: unknown
  useVerificationToken?: unknown
  createAuthenticator?: unknown
  getAuthenticator?: unknown
  listAuthenticatorsByUserId?: unknown
  updateAuthenticatorCounter?: unknown
}

/** The account `events.signIn` receives: the raw token response plus keys (`type` "oauth" or "oidc" for OAuth). */
export interface SignInAccount {
  type: string
  provider: string
  providerAccountId: string
  userId?: string
  access_token?: string
  refresh_token?: string
  expires_at?: number
  expires_in?: number
  id_token?: string
  scope?: string
  token_type?: string
  session_state?: unknown
}

/** What `events.signIn` receives from Auth.js v4 and v5 (a structural subset of both). */
export interface SignInEventMessage {
  user: { id?: string }
  account?: SignInAccount | null
}
