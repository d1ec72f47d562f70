/**
 * Which OAuth provider the example signs in with, from the environment.
 *
 *   AUTH_PROVIDER=oidc (default)  OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET: any OpenID provider.
 *                                 `pnpm dev` starts the repository's local one and sets these three.
 *   AUTH_PROVIDER=google          AUTH_GOOGLE_ID, AUTH_GOOGLE_SECRET
 *   AUTH_PROVIDER=github          AUTH_GITHUB_ID, AUTH_GITHUB_SECRET
 *   AUTH_PROVIDER=keycloak        AUTH_KEYCLOAK_ID, AUTH_KEYCLOAK_SECRET, AUTH_KEYCLOAK_ISSUER (…/realms/<realm>)
 *
 * The callback URL to register at the provider is `<origin>/api/auth/callback/<AUTH_PROVIDER>`.
 */
import type { OAuthConfig } from "next-auth/providers/oauth"
import GitHubProvider from "next-auth/providers/github"
import GoogleProvider from "next-auth/providers/google"
import KeycloakProvider from "next-auth/providers/keycloak"

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- next-auth 4's providers return OAuthConfig<any>
export type ProviderConfig = OAuthConfig<any>

export interface ProviderChoice {
  provider: ProviderConfig
  /** Where /api/userinfo sends the access token. */
  userinfoUrl: () => Promise<string>
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim()
  if (!value) throw new Error(`${name} is not set (see the "Examples" section of the repository README)`)
  return value
}

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

interface OidcProfile {
  sub: string
  name?: string
  preferred_username?: string
  email?: string
}

export function chooseProvider(env: NodeJS.ProcessEnv = process.env): ProviderChoice {
  const kind = env.AUTH_PROVIDER?.trim() || "oidc"
  switch (kind) {
    case "oidc": {
      const issuer = required(env, "OIDC_ISSUER").replace(/\/$/, "")
      // Configured as next-auth 4's KeycloakProvider configures itself (the blog's provider): discovery from
      // the issuer, ID token, PKCE + state; offline_access so the provider issues a refresh token.
      const provider: OAuthConfig<OidcProfile> = {
        id: "oidc",
        name: "OpenID provider",
        type: "oauth",
        wellKnown: `${issuer}/.well-known/openid-configuration`,
        clientId: required(env, "OIDC_CLIENT_ID"),
        clientSecret: required(env, "OIDC_CLIENT_SECRET"),
        authorization: { params: { scope: "openid email profile offline_access", prompt: "consent" } },
        idToken: true,
        checks: ["pkce", "state"],
        profile: (profile) => ({
          id: profile.sub,
          name: profile.name ?? profile.preferred_username ?? null,
          email: profile.email ?? null,
          image: null,
        }),
      }
      return { provider, userinfoUrl: discoveredUserinfo(issuer) }
    }
    case "google":
      return {
        provider: GoogleProvider({
          clientId: required(env, "AUTH_GOOGLE_ID"),
          clientSecret: required(env, "AUTH_GOOGLE_SECRET"),
          // Google sends a refresh token only with access_type=offline, and again only with prompt=consent.
          authorization: { params: { access_type: "offline", prompt: "consent", response_type: "code" } },
        }),
        userinfoUrl: async () => "https://openidconnect.googleapis.com/v1/userinfo",
      }
    case "github":
      return {
        provider: GitHubProvider({
          clientId: required(env, "AUTH_GITHUB_ID"),
          clientSecret: required(env, "AUTH_GITHUB_SECRET"),
        }),
        userinfoUrl: async () => "https://api.github.com/user",
      }
    case "keycloak": {
      const issuer = required(env, "AUTH_KEYCLOAK_ISSUER")
      return {
        provider: KeycloakProvider({
          clientId: required(env, "AUTH_KEYCLOAK_ID"),
          clientSecret: required(env, "AUTH_KEYCLOAK_SECRET"),
          issuer,
          authorization: { params: { scope: "openid email profile offline_access" } },
        }),
        userinfoUrl: discoveredUserinfo(issuer),
      }
    }
    default:
      throw new Error(`AUTH_PROVIDER must be oidc, google, github or keycloak, not "${kind}"`)
  }
}
