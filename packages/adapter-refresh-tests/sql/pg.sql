-- The PostgreSQL schema documented for @auth/pg-adapter (authjs.dev, "PostgreSQL Adapter" > Schema),
-- verbatim in substance.
--
-- Notes that matter to authjs-adapter-refresh:
-- * accounts has a serial "id" primary key and NO unique constraint on (provider, "providerAccountId"):
--   a bare adapter can leave duplicate rows for one key, and an upsert cannot use ON CONFLICT.
-- * User ids are integers (serial); "userId" is INTEGER. Auth.js hands them around as numbers.
-- * expires_at is BIGINT: node-postgres returns it as a string.
-- * There are no foreign keys: the adapter's deleteUser deletes sessions and accounts itself.

CREATE TABLE verification_token
(
  identifier TEXT NOT NULL,
  expires TIMESTAMPTZ NOT NULL,
  token TEXT NOT NULL,

  PRIMARY KEY (identifier, token)
);

CREATE TABLE accounts
(
  id SERIAL,
  "userId" INTEGER NOT NULL,
  type VARCHAR(255) NOT NULL,
  provider VARCHAR(255) NOT NULL,
  "providerAccountId" VARCHAR(255) NOT NULL,
  refresh_token TEXT,
  access_token TEXT,
  expires_at BIGINT,
  id_token TEXT,
  scope TEXT,
  session_state TEXT,
  token_type TEXT,

  PRIMARY KEY (id)
);

CREATE TABLE sessions
(
  id SERIAL,
  "userId" INTEGER NOT NULL,
  expires TIMESTAMPTZ NOT NULL,
  "sessionToken" VARCHAR(255) NOT NULL,

  PRIMARY KEY (id)
);

CREATE TABLE users
(
  id SERIAL,
  name VARCHAR(255),
  email VARCHAR(255),
  "emailVerified" TIMESTAMPTZ,
  image TEXT,

  PRIMARY KEY (id)
);

-- Lease mode (authjs-adapter-refresh): one row per account key, the README's "Lease mode: the migration".
CREATE TABLE authjs_refresh_lease (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               BIGINT NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         TIMESTAMPTZ(3),
  PRIMARY KEY (provider, provider_account_id)
);
