-- The SQLite tables @auth/drizzle-adapter 1.11 defines by default (its lib/sqlite.ts `defineTables`), as
-- drizzle-kit would create them: text ids filled in by the adapter ($defaultFn), camelCase key columns,
-- snake_case token columns, timestamps as integer milliseconds, a composite primary key on
-- (provider, providerAccountId).
CREATE TABLE "user" (
  "id" text PRIMARY KEY NOT NULL,
  "name" text,
  "email" text UNIQUE,
  "emailVerified" integer,
  "image" text
);

CREATE TABLE "account" (
  "userId" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE,
  "type" text NOT NULL,
  "provider" text NOT NULL,
  "providerAccountId" text NOT NULL,
  "refresh_token" text,
  "access_token" text,
  "expires_at" integer,
  "token_type" text,
  "scope" text,
  "id_token" text,
  "session_state" text,
  PRIMARY KEY ("provider", "providerAccountId")
);

CREATE TABLE "session" (
  "sessionToken" text PRIMARY KEY NOT NULL,
  "userId" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE,
  "expires" integer NOT NULL
);

CREATE TABLE "verificationToken" (
  "identifier" text NOT NULL,
  "token" text NOT NULL,
  "expires" integer NOT NULL,
  PRIMARY KEY ("identifier", "token")
);

CREATE TABLE "authenticator" (
  "credentialID" text NOT NULL UNIQUE,
  "userId" text NOT NULL REFERENCES "user"("id") ON DELETE CASCADE,
  "providerAccountId" text NOT NULL,
  "credentialPublicKey" text NOT NULL,
  "counter" integer NOT NULL,
  "credentialDeviceType" text NOT NULL,
  "credentialBackedUp" integer NOT NULL,
  "transports" text,
  PRIMARY KEY ("userId", "credentialID")
);

-- Lease mode (authjs-adapter-refresh): one row per account key, the README's "Lease mode: the migration".
-- lease_until is epoch milliseconds.
CREATE TABLE authjs_refresh_lease (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               INTEGER NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         INTEGER,
  PRIMARY KEY (provider, provider_account_id)
);
