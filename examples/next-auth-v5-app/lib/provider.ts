/**
 * Which OAuth provider the example signs in with, from the environment (the same variables as
 * examples/express):
 *
 *   AUTH_PROVIDER=oidc (default)  OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: any OpenID provider.
 *                                 `pnpm example:next-auth-v5` starts the repository's local one and sets them.
 *   AUTH_PROVIDER=google          AUTH_GOOGLE_ID, AUTH_GOOGLE_SECRET
 *   AUTH_PROVIDER=github          AUTH_GITHUB_ID, AUTH_GITHUB_SECRET
 *   AUTH_PROVIDER=keycloak        AUTH_KEYCLOAK_ID, AUTH_KEYCLOAK_SECRET, AUTH_KEYCLOAK_ISSUER (…/realms/<realm>)
 *
 * The callback URL to register at the provider is `<origin>/api/auth/callback/<AUTH_PROVIDER>`.
 * Client id and secret are passed explicitly, not left to next-auth's environment defaults, because the
 * refresh engine reads them from the same provider object.
 */
import type { Profile } from "next-auth"
import type { OIDCConfig } from "next-auth/providers"
import GitHub from "next-auth/providers/github"
import Google from "next-auth/providers/google"
import Keycloak from "next-auth/providers/keycloak"
import { requiredEnv } from "./env"

type ProviderConfig =
  OIDCConfig<Profile> | ReturnType<typeof Keycloak> | ReturnType<typeof Google> | ReturnType<typeof GitHub>

export interface ProviderChoice {
  /** The provider object given to Auth.js AND to withTokenSync's refresh engine (the same object). */
  provider: ProviderConfig
  id: string
  name: string
  /** Where the example's /api/userinfo route sends the access token. */
  userinfoUrl(): Promise<string>
}

export function providerFromEnv(): ProviderChoice {
  const kind = process.env.AUTH_PROVIDER?.trim() || "oidc"
  switch (kind) {
    case "oidc": {
      const issuer = requiredEnv("OIDC_ISSUER")
      const provider: OIDCConfig<Profile> = {
        id: "oidc",
        name: "OpenID provider",
        type: "oidc",
        issuer,
        clientId: requiredEnv("OIDC_CLIENT_ID"),
        clientSecret: requiredEnv("OIDC_CLIENT_SECRET"),
        // offline_access + prompt=consent: what an OpenID provider needs before it issues a refresh token.
        authorization: { params: { scope: "openid email profile offline_access", prompt: "consent" } },
      }
      return { provider, id: "oidc", name: provider.name, userinfoUrl: discoveredUserinfo(issuer) }
    }
    case "keycloak": {
      const issuer = requiredEnv("AUTH_KEYCLOAK_ISSUER")
      const provider = Keycloak({
        clientId: requiredEnv("AUTH_KEYCLOAK_ID"),
        clientSecret: requiredEnv("AUTH_KEYCLOAK_SECRET"),
        issuer,
        authorization: { params: { scope: "openid email profile offline_access" } },
      })
      return { provider, id: provider.id, name: provider.name, userinfoUrl: discoveredUserinfo(issuer) }
    }
    case "google": {
      // Google sends a refresh token only with access_type=offline, and on later sign-ins only with
      // prompt=consent; when it sends none, withTokenSync keeps the stored one.
      const provider = Google({
        clientId: requiredEnv("AUTH_GOOGLE_ID"),
        clientSecret: requiredEnv("AUTH_GOOGLE_SECRET"),
        authorization: { params: { access_type: "offline", prompt: "consent", scope: "openid email profile" } },
      })
      return {
        provider,
        id: provider.id,
        name: provider.name,
        userinfoUrl: async () => "https://openidconnect.googleapis.com/v1/userinfo",
      }
    }
    case "github": {
      // A GitHub App's user tokens (with "expire user authorization tokens") expire and are refreshed; an
      // OAuth App's never expire, so getAccessToken returns the stored one.
      const provider = GitHub({
        clientId: requiredEnv("AUTH_GITHUB_ID"),
        clientSecret: requiredEnv("AUTH_GITHUB_SECRET"),
      })
      return { provider, id: provider.id, name: provider.name, userinfoUrl: async () => "https://api.github.com/user" }
    }
    default:
      throw new Error(`AUTH_PROVIDER must be oidc, google, github or keycloak, not "${kind}"`)
  }
}

/** The userinfo endpoint from the issuer's discovery document, fetched once (again after a failure). */
function discoveredUserinfo(issuer: string): () => Promise<string> {
  let endpoint: Promise<string> | undefined
  return () =>
    (endpoint ??= (async () => {
      const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`
      const response = await fetch(url, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      })
      if (!response.ok) throw new Error(`${url} answered ${response.status}`)
      const document = (await response.json()) as { userinfo_endpoint?: unknown }
      if (typeof document.userinfo_endpoint !== "string") throw new Error(`${issuer} names no userinfo_endpoint`)
      return document.userinfo_endpoint
    })().catch((error: unknown) => {
      endpoint = undefined
      throw error
    }))
}
