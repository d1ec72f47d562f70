/**
 * `refresh.providers` takes the provider objects apps give Auth.js: the REAL objects built by next-auth 4.24
 * (`next-auth/providers/*`) and by @auth/core 0.41 (`@auth/core/providers/*`, what next-auth 5 re-exports).
 * Each one resolves to somewhere a refresh grant can go, or is refused at construction by a
 * RefreshNotConfiguredError whose message says what to add. Also the rules on hand-made provider objects, and
 * what is kept of a provider's untrusted text (error codes) and discovered endpoints (refresh/provider.ts).
 */
import { describe, expect, it, test } from "@jest/globals"
import { readdirSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { inspect } from "node:util"
import { RefreshNotConfiguredError } from "../../src/errors.js"
import {
  endpointAllowed,
  resolveProvider,
  safeOAuthErrorCode,
  type RefreshProviderConfig,
} from "../../src/refresh/provider.js"

const require = createRequire(import.meta.url)
// next-auth 4 is CommonJS; its provider modules export the factory as `default`. Loaded untyped on
// purpose: importing next-auth 4's types would pull next's global types into this program.
type Factory = (options: Record<string, unknown>) => RefreshProviderConfig
const v4 = (name: string): Factory => (require(`next-auth/providers/${name}`) as { default: Factory }).default
const v4Dir = join(dirname(require.resolve("next-auth/providers/google")))
// @auth/core's exports map has no CommonJS or package.json entry: its folder, as pnpm links it here.
const coreDir = fileURLToPath(new URL("../../node_modules/@auth/core/providers", import.meta.url))

const secrets = { clientId: "client-id", clientSecret: "client-secret" }
const resolve = (provider: RefreshProviderConfig) => resolveProvider(provider, false)

describe("next-auth 4.24 provider objects", () => {
  it("the generic OAuth config with only wellKnown resolves to discovery from that URL", () => {
    const custom = {
      id: "custom",
      name: "Custom",
      type: "oauth",
      wellKnown: "https://idp.example.test/.well-known/openid-configuration",
      ...secrets,
    }
    expect(resolve(custom)).toMatchObject({
      id: "custom",
      issuer: undefined,
      tokenEndpoint: undefined,
      discoveryUrl: custom.wellKnown,
    })
  })

  it("GoogleProvider (wellKnown, no issuer) resolves to Google's discovery document", () => {
    const google = v4("google")(secrets)
    expect(google).toMatchObject({ wellKnown: "https://accounts.google.com/.well-known/openid-configuration" })
    expect(google).not.toHaveProperty("issuer")
    expect(resolve(google)).toMatchObject({
      id: "google",
      discoveryUrl: "https://accounts.google.com/.well-known/openid-configuration",
      clientId: "client-id",
    })
  })

  it("AzureADProvider (wellKnown with a query, default and explicit tenant) resolves to that document URL", () => {
    expect(resolve(v4("azure-ad")(secrets)).discoveryUrl).toBe(
      "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration?appid=client-id",
    )
    expect(resolve(v4("azure-ad")({ ...secrets, tenantId: "contoso.onmicrosoft.com" })).discoveryUrl).toContain(
      "/contoso.onmicrosoft.com/v2.0/",
    )
  })

  it("Keycloak, Auth0, Okta, Cognito (options.issuer) resolve to issuer discovery", () => {
    for (const name of ["keycloak", "auth0", "okta", "cognito"]) {
      const resolved = resolve(v4(name)({ ...secrets, issuer: "https://idp.example.test/realms/app" }))
      expect(resolved).toMatchObject({
        issuer: "https://idp.example.test/realms/app",
        tokenEndpoint: undefined,
        discoveryUrl: undefined,
      })
    }
  })
  it("GitHub, GitLab, Discord, Spotify (explicit token endpoint) resolve to it; LinkedIn keeps client_secret_post", () => {
    expect(resolve(v4("github")(secrets)).tokenEndpoint).toBe("https://github.com/login/oauth/access_token")
    expect(resolve(v4("gitlab")(secrets)).tokenEndpoint).toBe("https://gitlab.com/oauth/token")
    expect(resolve(v4("discord")(secrets)).tokenEndpoint).toBe("https://discord.com/api/oauth2/token")
    expect(resolve(v4("spotify")(secrets)).tokenEndpoint).toBe("https://accounts.spotify.com/api/token")
    expect(resolve(v4("linkedin")(secrets))).toMatchObject({
      tokenEndpoint: "https://www.linkedin.com/oauth/v2/accessToken",
      authMethod: "client_secret_post",
    })
  })

  it("Twitter's OAuth 1.0a default is refused with what to set; its OAuth 2.0 variant resolves", () => {
    expect(() => resolve(v4("twitter")(secrets))).toThrow(
      /OAuth 1\.0A provider, which has no refresh tokens \(for Twitter, use version: "2\.0"\)/,
    )
    expect(resolve(v4("twitter")({ ...secrets, version: "2.0" })).tokenEndpoint).toBe(
      "https://api.twitter.com/2/oauth2/token",
    )
  })
  it("a provider with neither token, issuer nor wellKnown is refused with the three fields to add; a token.request without URL says so", () => {
    expect(() => resolve({ id: "bare", type: "oauth", ...secrets })).toThrow(
      /add token \(the token endpoint URL\), issuer \(for OpenID discovery\) or wellKnown/,
    )
    expect(() =>
      resolve({ id: "custom-request", type: "oauth", token: { request: async () => ({}) }, ...secrets }),
    ).toThrow(/its token\.request function has no URL/)
    // A token.request customises the sign-in's code exchange; the refresh grant goes to token.url.
    expect(
      resolve({
        id: "r",
        type: "oauth",
        token: { url: "https://idp.example.test/token", request: async () => ({}) },
        ...secrets,
      }).tokenEndpoint,
    ).toBe("https://idp.example.test/token")
  })
  it("a built-in needing issuer, built without it, is refused with the hint to pass issuer; plain-http wellKnown only on loopback", () => {
    expect(() => resolve(v4("keycloak")(secrets))).toThrow(RefreshNotConfiguredError)
    expect(() => resolve(v4("keycloak")(secrets))).toThrow(/pass issuer/)
    expect(() =>
      resolve({
        id: "w",
        type: "oauth",
        wellKnown: "http://idp.example.test/.well-known/openid-configuration",
        ...secrets,
      }),
    ).toThrow(/plain http/)
    expect(
      resolve({ id: "w", type: "oauth", wellKnown: "http://127.0.0.1:9/.well-known/openid-configuration", ...secrets })
        .allowInsecure,
    ).toBe(true)
  })

  it("email and credentials providers are refused: they have no tokens", () => {
    expect(() => resolve(v4("credentials")({ ...secrets, authorize: async () => null }))).toThrow(
      /"credentials" provider: only OAuth and OIDC providers/,
    )
  })

  it("every OAuth provider next-auth 4.24 ships resolves, or is refused saying what to add", () => {
    const names = readdirSync(v4Dir).filter(
      (f) => f.endsWith(".js") && !["index.js", "oauth.js", "oauth-types.js", "email.js", "credentials.js"].includes(f),
    )
    expect(names.length).toBeGreaterThan(60)
    const outcome: Record<string, string> = {}
    for (const file of names) {
      const provider = v4(file.replace(/\.js$/, ""))({
        ...secrets,
        issuer: "https://idp.example.test/realm",
        tenantId: "tenant",
      })
      try {
        const r = resolve(provider)
        outcome[file] = r.tokenEndpoint ? "token" : r.issuer ? "issuer" : "wellKnown"
      } catch (error) {
        expect(error).toBeInstanceOf(RefreshNotConfiguredError)
        expect((error as Error).message).toMatch(/add |use version|pass issuer|token_endpoint_auth_method/)
        outcome[file] = "refused"
      }
    }
    // Only the OAuth 1.0a providers cannot refresh.
    expect(
      Object.entries(outcome)
        .filter(([, o]) => o === "refused")
        .map(([f]) => f)
        .sort(),
    ).toEqual(["twitter.js"])
  })
})

describe("@auth/core 0.41 provider objects (next-auth 5)", () => {
  it("Google, Keycloak, GitHub, Microsoft Entra ID resolve as before", async () => {
    const load = async (name: string) =>
      ((await import(`@auth/core/providers/${name}`)) as { default: Factory }).default
    expect(resolve((await load("google"))(secrets))).toMatchObject({
      issuer: "https://accounts.google.com",
      discoveryUrl: undefined,
    })
    expect(resolve((await load("keycloak"))({ ...secrets, issuer: "https://kc.example.test/realms/r" })).issuer).toBe(
      "https://kc.example.test/realms/r",
    )
    expect(resolve((await load("github"))(secrets)).tokenEndpoint).toBe("https://github.com/login/oauth/access_token")
    expect(
      resolve((await load("microsoft-entra-id"))({ ...secrets, issuer: "https://login.microsoftonline.com/t/v2.0" }))
        .issuer,
    ).toBe("https://login.microsoftonline.com/t/v2.0")
  })

  it("every OAuth/OIDC provider @auth/core ships resolves, or is refused saying what to add", async () => {
    const files = readdirSync(coreDir).filter(
      (f) => f.endsWith(".js") && !["index.js", "oauth.js", "provider-types.js"].includes(f),
    )
    expect(files.length).toBeGreaterThan(90)
    const refused: string[] = []
    const unloadable: string[] = []
    let oauthCount = 0
    for (const file of files) {
      let factory: unknown
      try {
        factory = ((await import(`@auth/core/providers/${file.replace(/\.js$/, "")}`)) as { default?: unknown }).default
      } catch {
        // An email/passkey provider whose optional peer (nodemailer, @simplewebauthn) is not installed.
        unloadable.push(file)
        continue
      }
      if (typeof factory !== "function") continue
      const provider = (factory as Factory)({
        ...secrets,
        issuer: "https://idp.example.test/realm",
        apiKey: "k",
        server: "smtp://x",
      })
      if (provider.type !== "oauth" && provider.type !== "oidc") {
        expect(() => resolve(provider)).toThrow(/only OAuth and OIDC providers have tokens to refresh/)
        continue
      }
      oauthCount++
      try {
        resolve(provider)
      } catch (error) {
        expect(error).toBeInstanceOf(RefreshNotConfiguredError)
        expect((error as Error).message).toMatch(/add |use version|pass issuer|token_endpoint_auth_method/)
        refused.push(file)
      }
    }
    expect(oauthCount).toBeGreaterThan(80)
    expect(refused).toEqual([])
    expect(unloadable.filter((f) => !["email.js", "nodemailer.js", "passkey.js", "webauthn.js"].includes(f))).toEqual(
      [],
    )
  })
})

describe("provider resolution", () => {
  test("an OIDC provider object as given to Auth.js", () => {
    const p = resolveProvider(
      {
        id: "op",
        type: "oidc",
        issuer: "https://op.example",
        clientId: "c",
        clientSecret: "s",
        client: { token_endpoint_auth_method: "client_secret_post" },
      },
      false,
    )
    expect(p).toMatchObject({
      id: "op",
      issuer: "https://op.example",
      tokenEndpoint: undefined,
      authMethod: "client_secret_post",
      allowInsecure: false,
    })
  })
  test("a built-in provider function's result: credentials in options", () => {
    const p = resolveProvider(
      {
        id: "google",
        type: "oidc",
        issuer: "https://accounts.google.com",
        options: { clientId: "c", clientSecret: "s" },
      },
      false,
    )
    expect(p).toMatchObject({ clientId: "c", clientSecret: "s", authMethod: "client_secret_basic" })
  })
  test("an OAuth provider with an explicit token endpoint (string or { url })", () => {
    expect(
      resolveProvider({ id: "gh", clientId: "c", clientSecret: "s", token: "https://gh.example/token" }, false)
        .tokenEndpoint,
    ).toBe("https://gh.example/token")
    expect(
      resolveProvider({ id: "gh", clientId: "c", clientSecret: "s", token: { url: "https://gh.example/t" } }, false)
        .tokenEndpoint,
    ).toBe("https://gh.example/t")
  })
  test("plain http only for loopback hosts unless allowed explicitly", () => {
    expect(
      resolveProvider({ id: "a", issuer: "http://127.0.0.1:3000", clientId: "c", clientSecret: "s" }, false)
        .allowInsecure,
    ).toBe(true)
    expect(
      resolveProvider({ id: "a", issuer: "http://op.internal", clientId: "c", clientSecret: "s" }, false).allowInsecure,
    ).toBe(false)
    expect(
      resolveProvider({ id: "a", issuer: "http://op.internal", clientId: "c", clientSecret: "s" }, true).allowInsecure,
    ).toBe(true)
  })
  test("unusable configurations are refused at start-up, without echoing the secret", () => {
    expect(() => resolveProvider({ id: "a", clientId: "c", clientSecret: "s" }, false)).toThrow(
      RefreshNotConfiguredError,
    )
    expect(() => resolveProvider({ id: "a", issuer: "https://x", clientId: "c" }, false)).toThrow(
      RefreshNotConfiguredError,
    )
    try {
      resolveProvider(
        {
          id: "a",
          issuer: "https://x",
          clientId: "c",
          clientSecret: "TOPSECRET",
          client: { token_endpoint_auth_method: "private_key_jwt" },
        },
        false,
      )
    } catch (error) {
      expect(inspect(error, { depth: 10 })).not.toContain("TOPSECRET")
    }
  })
})

describe("untrusted provider text and endpoints", () => {
  test("OAuth error codes: RFC 6749 §5.2 characters only, at most 64", () => {
    expect(safeOAuthErrorCode("invalid_grant")).toBe("invalid_grant")
    expect(safeOAuthErrorCode("server_error")).toBe("server_error")
    for (const bad of ['bad"quote', "back\\slash", "new\nline", "é", "x".repeat(65), "", 42, undefined])
      expect(safeOAuthErrorCode(bad)).toBeUndefined()
  })

  test("discovered endpoints: https anywhere, plain http only on loopback unless allowed", () => {
    expect(endpointAllowed("https://idp.example.com/token", false)).toBe(true)
    expect(endpointAllowed("http://127.0.0.1:3000/token", false)).toBe(true)
    expect(endpointAllowed("http://localhost/token", false)).toBe(true)
    expect(endpointAllowed("http://[::1]:8080/token", false)).toBe(true)
    expect(endpointAllowed("http://idp.example.com/token", false)).toBe(false)
    expect(endpointAllowed("http://10.0.0.1/token", false)).toBe(false)
    expect(endpointAllowed("http://idp.example.com/token", true)).toBe(true)
    for (const bad of ["ftp://x/token", "javascript:alert(1)", "not a url", undefined])
      expect(endpointAllowed(bad, true)).toBe(false)
  })
})
