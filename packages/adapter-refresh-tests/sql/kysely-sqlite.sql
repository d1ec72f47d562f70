-- The @auth/kysely-adapter schema on SQLite: the tables and columns of its documented migration
-- (db/migrations/001_create_db.ts), with SQLite types. The adapter stores dates as ISO text on SQLite.
--
-- Notes that matter to authjs-adapter-refresh:
-- * "id" columns default to a random hex id: the adapter's linkAccount inserts the account without one.
-- * No unique key on ("provider", "providerAccountId") is needed for the lock: on SQLite the account lock
--   is the file's single write lock (databases/sqlite.ts), taken before the key is read.
CREATE TABLE "User" (
  "id" TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(16)))),
  "name" TEXT,
  "email" TEXT NOT NULL UNIQUE,
  "emailVerified" TEXT,
  "image" TEXT
);

CREATE TABLE "Account" (
  "id" TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(16)))),
  "userId" TEXT NOT NULL REFERENCES "User" ("id") ON DELETE CASCADE,
  "type" TEXT NOT NULL,
  "provider" TEXT NOT NULL,
  "providerAccountId" TEXT NOT NULL,
  "refresh_token" TEXT,
  "access_token" TEXT,
  "expires_at" INTEGER,
  "token_type" TEXT,
  "scope" TEXT,
  "id_token" TEXT,
  "session_state" TEXT
);

CREATE TABLE "Session" (
  "id" TEXT PRIMARY KEY NOT NULL DEFAULT (lower(hex(randomblob(16)))),
  "userId" TEXT NOT NULL REFERENCES "User" ("id") ON DELETE CASCADE,
  "sessionToken" TEXT NOT NULL UNIQUE,
  "expires" TEXT NOT NULL
);

CREATE TABLE "VerificationToken" (
  "identifier" TEXT NOT NULL,
  "token" TEXT NOT NULL UNIQUE,
  "expires" TEXT NOT NULL
);

CREATE INDEX "Account_userId_index" ON "Account" ("userId");
CREATE INDEX "Session_userId_index" ON "Session" ("userId");

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
