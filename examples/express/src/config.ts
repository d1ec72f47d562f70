/**
 * Which OAuth provider the example signs in with, from the environment.
 *
 *   AUTH_PROVIDER=oidc (default)  OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: any OpenID provider.
 *                                 `pnpm dev` starts the repository's local one and sets these three.
 *   AUTH_PROVIDER=google          AUTH_GOOGLE_ID, AUTH_GOOGLE_SECRET
 *   AUTH_PROVIDER=github          AUTH_GITHUB_ID, AUTH_GITHUB_SECRET
 *   AUTH_PROVIDER=keycloak        AUTH_KEYCLOAK_ID, AUTH_KEYCLOAK_SECRET, AUTH_KEYCLOAK_ISSUER (…/realms/<realm>)
 *
 * The callback URL to register at the provider is `<origin>/auth/callback/<AUTH_PROVIDER>`.
 */
import type { OAuthConfig, OIDCConfig } from "@auth/express/providers"
import GitHub from "@auth/express/providers/github"
import Google from "@auth/express/providers/google"
import Keycloak from "@auth/express/providers/keycloak"

export type ProviderConfig = OAuthConfig<Record<string, unknown>> | OIDCConfig<Record<string, unknown>>

export interface ProviderChoice {
  provider: ProviderConfig
  /** Where the example's /api/userinfo route sends the access token. */
  userinfoUrl: () => Promise<string>
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim()
  if (!value) throw new Error(`${name} is not set (see the "Examples" section of the repository README)`)
  return value
}

/** The userinfo endpoint from the issuer's discovery document, fetched once. */
function discoveredUserinfo(issuer: string): () => Promise<string> {
  let endpoint: Promise<string> | undefined
  return () =>
    (endpoint ??= (async () => {
      const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(10_000),
      })
      const document = (await response.json()) as { userinfo_endpoint?: unknown }
      if (typeof document.userinfo_endpoint !== "string") throw new Error(`${issuer} names no userinfo_endpoint`)
      return document.userinfo_endpoint
    })())
}

export function chooseProvider(env: NodeJS.ProcessEnv = process.env): ProviderChoice {
  const kind = env.AUTH_PROVIDER?.trim() || "oidc"
  switch (kind) {
    case "oidc": {
      const issuer = required(env, "OIDC_ISSUER")
      // Configured as the blog's KeycloakProvider was: scope with offline_access so a refresh token is issued.
      const provider: OIDCConfig<Record<string, unknown>> = {
        id: "oidc",
        name: "OpenID provider",
        type: "oidc",
        issuer,
        clientId: required(env, "OIDC_CLIENT_ID"),
        clientSecret: required(env, "OIDC_CLIENT_SECRET"),
        authorization: { params: { scope: "openid email profile offline_access", prompt: "consent" } },
      }
      return { provider, userinfoUrl: discoveredUserinfo(issuer) }
    }
    case "google":
      return {
        // access_type=offline + prompt=consent: Google sends a refresh token (only then).
        provider: Google({
          clientId: required(env, "AUTH_GOOGLE_ID"),
          clientSecret: required(env, "AUTH_GOOGLE_SECRET"),
          authorization: { params: { access_type: "offline", prompt: "consent", scope: "openid email profile" } },
        }) as ProviderConfig,
        userinfoUrl: async () => "https://openidconnect.googleapis.com/v1/userinfo",
      }
    case "github":
      return {
        provider: GitHub({
          clientId: required(env, "AUTH_GITHUB_ID"),
          clientSecret: required(env, "AUTH_GITHUB_SECRET"),
        }) as ProviderConfig,
        userinfoUrl: async () => "https://api.github.com/user",
      }
    case "keycloak": {
      const issuer = required(env, "AUTH_KEYCLOAK_ISSUER")
      return {
        provider: Keycloak({
          clientId: required(env, "AUTH_KEYCLOAK_ID"),
          clientSecret: required(env, "AUTH_KEYCLOAK_SECRET"),
          issuer,
          authorization: { params: { scope: "openid email profile offline_access" } },
        }) as ProviderConfig,
        userinfoUrl: discoveredUserinfo(issuer),
      }
    }
    default:
      throw new Error(`AUTH_PROVIDER must be oidc, google, github or keycloak, not "${kind}"`)
  }
}
