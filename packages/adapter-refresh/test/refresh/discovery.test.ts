import { describe, expect, it } from "@jest/globals"
import { checkedMetadata, issuerOfWellKnown, templateMatches } from "../../src/refresh/discovery.js"

describe("wellKnown discovery rules (pure)", () => {
  it("derives the issuer only from the standard URL form", () => {
    expect(issuerOfWellKnown(new URL("https://accounts.google.com/.well-known/openid-configuration"))).toBe(
      "https://accounts.google.com",
    )
    expect(issuerOfWellKnown(new URL("https://kc.test/realms/r/.well-known/openid-configuration"))).toBe(
      "https://kc.test/realms/r",
    )
    expect(
      issuerOfWellKnown(
        new URL("https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration?appid=x"),
      ),
    ).toBeUndefined()
    expect(issuerOfWellKnown(new URL("https://as.test/.well-known/oauth-authorization-server"))).toBeUndefined()
  })

  it("a {tenantid} template matches an issuer only with one path segment in its place", () => {
    const template = "https://login.microsoftonline.com/{tenantid}/v2.0"
    expect(templateMatches(template, "https://login.microsoftonline.com/common/v2.0/")).toBe(true)
    expect(
      templateMatches(template, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"),
    ).toBe(true)
    expect(templateMatches(template, "https://login.microsoftonline.com/a/b/v2.0")).toBe(false)
    expect(templateMatches(template, "https://login.microsoftonline.com//v2.0")).toBe(false)
    expect(templateMatches(template, "https://evil.test/common/v2.0")).toBe(false)
    expect(templateMatches("https://x.test/{tenantid}/{tenantid}", "https://x.test/a/b")).toBe(false)
  })

  it("takes only issuer and an https token_endpoint from the document; http only on loopback when allowed", () => {
    const doc = {
      issuer: "https://as.test",
      token_endpoint: "https://as.test/token",
      userinfo_endpoint: "https://as.test/me",
    }
    expect(checkedMetadata(doc, "https://as.test/", false)).toEqual({
      issuer: "https://as.test",
      token_endpoint: "https://as.test/token",
    })
    expect(() => checkedMetadata(doc, "https://other.test", false)).toThrow(/issuer does not match/)
    expect(() => checkedMetadata({ ...doc, token_endpoint: "http://as.test/token" }, undefined, true)).toThrow(
      /not https/,
    )
    expect(() => checkedMetadata({ ...doc, token_endpoint: "http://127.0.0.1:9/token" }, undefined, false)).toThrow(
      /not https/,
    )
    expect(
      checkedMetadata({ ...doc, token_endpoint: "http://127.0.0.1:9/token" }, undefined, true).token_endpoint,
    ).toBe("http://127.0.0.1:9/token")
    expect(() => checkedMetadata({ token_endpoint: "https://as.test/token" }, undefined, false)).toThrow(
      /has no issuer/,
    )
    expect(() => checkedMetadata({ issuer: "https://as.test", token_endpoint: "/token" }, undefined, false)).toThrow(
      /not an absolute URL/,
    )
  })
})
