-- The PostgreSQL schema documented for @auth/kysely-adapter (authjs.dev, "Kysely Adapter" > Schema:
-- db/migrations/001_create_db.ts), written out as the SQL that Kysely 0.28 compiles that migration to.
--
-- Notes that matter to authjs-adapter-refresh:
-- * "id" columns default to gen_random_uuid(): the adapter's linkAccount inserts the account without an
--   id and relies on this default.
-- * There is NO unique constraint on ("provider", "providerAccountId"): a bare adapter can leave
--   duplicate rows for one key, and an upsert cannot use ON CONFLICT.
-- * "expires_at" is bigint: node-postgres returns it as a string.

CREATE TABLE "User" (
  "id" uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  "name" text,
  "email" text NOT NULL UNIQUE,
  "emailVerified" timestamptz,
  "image" text
);

CREATE TABLE "Account" (
  "id" uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  "userId" uuid NOT NULL REFERENCES "User" ("id") ON DELETE CASCADE,
  "type" text NOT NULL,
  "provider" text NOT NULL,
  "providerAccountId" text NOT NULL,
  "refresh_token" text,
  "access_token" text,
  "expires_at" bigint,
  "token_type" text,
  "scope" text,
  "id_token" text,
  "session_state" text
);

CREATE TABLE "Session" (
  "id" uuid DEFAULT gen_random_uuid() PRIMARY KEY,
  "userId" uuid NOT NULL REFERENCES "User" ("id") ON DELETE CASCADE,
  "sessionToken" text NOT NULL UNIQUE,
  "expires" timestamptz NOT NULL
);

CREATE TABLE "VerificationToken" (
  "identifier" text NOT NULL,
  "token" text NOT NULL UNIQUE,
  "expires" timestamptz NOT NULL
);

CREATE INDEX "Account_userId_index" ON "Account" ("userId");

CREATE INDEX "Session_userId_index" ON "Session" ("userId");

-- Lease mode (authjs-adapter-refresh): one row per account key, the README's "Lease mode: the migration".
CREATE TABLE authjs_refresh_lease (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               BIGINT NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         TIMESTAMPTZ(3),
  PRIMARY KEY (provider, provider_account_id)
);
