import { describe, expect, test } from "@jest/globals"
import { inspect } from "node:util"
import { reauthMarkChange, isMarkedForReauth, REAUTH_MARK } from "../src/policy/reauth.js"
import { resolveProvider } from "../src/refresh/provider.js"
import { ProviderUnavailableError, RefreshNotConfiguredError, RefreshTokenError } from "../src/errors.js"

const COL = "refresh_error"
const marked = { access_token: "at-old", refresh_token: "rt-old", [COL]: REAUTH_MARK }

describe("re-authentication mark policy", () => {
  test("a successful refresh clears the mark", () => {
    expect(reauthMarkChange(marked, { access_token: "at-new" }, COL, "refresh")).toEqual({ [COL]: null })
  })
  test("a sign-in with a NEW refresh token clears it", () => {
    expect(reauthMarkChange(marked, { access_token: "at-new", refresh_token: "rt-new" }, COL, "sign-in")).toEqual({
      [COL]: null,
    })
  })
  test("a sign-in without a refresh token (Google's returning sign-ins) or with the same one keeps it", () => {
    expect(reauthMarkChange(marked, { access_token: "at-new" }, COL, "sign-in")).toEqual({})
    expect(reauthMarkChange(marked, { access_token: "at-new", refresh_token: "rt-old" }, COL, "sign-in")).toEqual({})
  })
  test("nothing to clear when unmarked", () => {
    expect(reauthMarkChange({ ...marked, [COL]: null }, { refresh_token: "rt-new" }, COL, "sign-in")).toEqual({})
    expect(reauthMarkChange({ ...marked, [COL]: null }, {}, COL, "refresh")).toEqual({})
  })
  test("isMarkedForReauth", () => {
    expect(isMarkedForReauth(marked, COL)).toBe(true)
    expect(isMarkedForReauth({ ...marked, [COL]: null }, COL)).toBe(false)
    expect(isMarkedForReauth(marked, undefined)).toBe(false)
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

describe("refresh errors", () => {
  test("carry a stable code and no token", () => {
    const e = new RefreshTokenError("google", "invalid_grant")
    expect(e.code).toBe("REFRESH_INVALID_GRANT")
    expect(e.name).toBe("RefreshTokenError")
    const u = new ProviderUnavailableError("google", { kind: "http_status", status: 502 }, 1)
    expect(u.message).toContain("HTTP 502")
    expect(u.code).toBe("PROVIDER_UNAVAILABLE")
  })
})
