-- The `next_auth` schema documented for @auth/supabase-adapter (authjs.dev, "Supabase Adapter" > Schema),
-- in substance: uuid ids, quoted camelCase key columns, a unique key on (provider, "providerAccountId"),
-- foreign keys with ON DELETE CASCADE. Differences, each for this test server only:
-- * gen_random_uuid() (built into PostgreSQL 13+) stands for uuid_generate_v4(), so no extension is needed;
-- * Supabase's roles (service_role), grants, the next_auth.uid() function and its RLS policies are left out:
--   they serve PostgREST, which does not run here (README "Supabase");
-- * `verification_token` is a view over `verification_tokens`: the stand-in adapter (@auth/pg-adapter, see
--   src/fixtures/conformance-supabase-schema.ts) names the singular table.

CREATE SCHEMA next_auth;

CREATE TABLE next_auth.users (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name text,
  email text,
  "emailVerified" timestamptz,
  image text,
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT email_unique UNIQUE (email)
);

CREATE TABLE next_auth.sessions (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  expires timestamptz NOT NULL,
  "sessionToken" text NOT NULL,
  "userId" uuid,
  CONSTRAINT sessions_pkey PRIMARY KEY (id),
  CONSTRAINT "sessionToken_unique" UNIQUE ("sessionToken"),
  CONSTRAINT "sessions_userId_fkey" FOREIGN KEY ("userId") REFERENCES next_auth.users (id) ON DELETE CASCADE
);

CREATE TABLE next_auth.accounts (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  type text NOT NULL,
  provider text NOT NULL,
  "providerAccountId" text NOT NULL,
  refresh_token text,
  access_token text,
  expires_at bigint,
  token_type text,
  scope text,
  id_token text,
  session_state text,
  oauth_token_secret text,
  oauth_token text,
  "userId" uuid,
  CONSTRAINT accounts_pkey PRIMARY KEY (id),
  CONSTRAINT provider_unique UNIQUE (provider, "providerAccountId"),
  CONSTRAINT "accounts_userId_fkey" FOREIGN KEY ("userId") REFERENCES next_auth.users (id) ON DELETE CASCADE
);

CREATE TABLE next_auth.verification_tokens (
  identifier text,
  token text,
  expires timestamptz NOT NULL,
  CONSTRAINT verification_tokens_pkey PRIMARY KEY (token),
  CONSTRAINT token_unique UNIQUE (token),
  CONSTRAINT token_identifier_unique UNIQUE (token, identifier)
);

CREATE VIEW next_auth.verification_token AS SELECT identifier, expires, token FROM next_auth.verification_tokens;

-- Lease mode (authjs-adapter-refresh): the README's "Lease mode: the migration", in the same schema.
CREATE TABLE next_auth.authjs_refresh_lease (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               BIGINT NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         TIMESTAMPTZ(3),
  PRIMARY KEY (provider, provider_account_id)
);
