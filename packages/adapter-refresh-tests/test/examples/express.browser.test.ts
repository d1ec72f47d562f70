/**
 * examples/express in real Chromium: its real server (`src/main.ts` on the built library), the real
 * oidc-provider (rotating refresh tokens, 8 s access tokens), real PostgreSQL. Sign in through the provider's
 * login form, sign out, sign in again, let the access token expire, call the app's userinfo route.
 * With withTokenSync the route answers 200 and the database holds the tokens the provider issued last;
 * the control run (TOKEN_SYNC=off, the bare adapter) keeps the first sign-in's tokens and gets the 401.
 */
import { defineExampleSuite } from "./example-suite.js"

defineExampleSuite({
  title: "examples/express in Chromium",
  example: "express",
  shots: "express",
  schemaFile: "schema.sql",
  callbackPath: "/auth/callback/oidc",
  paths: { signIn: "/auth/signin", signOut: "/auth/signout" },
  command: process.execPath,
  args: () => ["--import", "tsx", "src/main.ts"],
  storedQuery: "SELECT access_token, refresh_token, expires_at FROM accounts ORDER BY id",
})
