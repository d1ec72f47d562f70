-- The lease table of the library's lease mode (README, "Lease mode: the migration"). Better Auth's own
-- tables (user, session, account, verification) are created by the app at start, with Better Auth's
-- migration API (src/auth.ts, migrate()).
CREATE TABLE IF NOT EXISTS authjs_refresh_lease (
  provider            TEXT NOT NULL,
  provider_account_id TEXT NOT NULL,
  fence               BIGINT NOT NULL,
  holder              TEXT NOT NULL,
  lease_until         TIMESTAMPTZ(3),
  PRIMARY KEY (provider, provider_account_id)
);
