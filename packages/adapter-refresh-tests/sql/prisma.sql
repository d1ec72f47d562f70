-- The PostgreSQL schema documented for @auth/prisma-adapter (authjs.dev, "Prisma Adapter" > Schema >
-- PostgreSQL), i.e. ../prisma/schema.prisma, as the SQL `prisma migrate` creates for it (Prisma's
-- PostgreSQL conventions: String -> TEXT, DateTime -> TIMESTAMP(3), Int -> INTEGER, named "<Model>_pkey"
-- primary keys, "<Model>_<field>_key" unique indexes, "<Model>_<field>_fkey" foreign keys with
-- ON UPDATE CASCADE). `prisma migrate` itself needs an engine download that these machines cannot make,
-- so the tests apply this file with pg. Keep it in step with schema.prisma.
--
-- Notes that matter to authjs-adapter-refresh:
-- * "Account" has the composite primary key ("provider", "providerAccountId"): at most one row per key.
-- * "expires_at" is INTEGER (Prisma Int): the driver returns a number.
-- * "updatedAt" has no database default: Prisma Client sets it (@updatedAt) on create and update.
-- * One addition to the documented schema: "Account"."refresh_token_expires_in" INTEGER (an extra token
--   column, as in the docs' MySQL schema), so the tests can check configured extra token fields.
-- * And "Account"."refresh_error" TEXT, the re-authentication mark (refresh.reauthColumn) the conformance
--   kit's listing section writes and lists.
-- * The optional refresh-token expiry column (`refresh.refreshTokenExpiryColumn`): "refresh_token_expires_at"
--   BIGINT (Prisma BigInt?), epoch seconds; NULL until a test configures the option.

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "email" TEXT NOT NULL,
    "emailVerified" TIMESTAMP(3),
    "image" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Account" (
    "userId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "providerAccountId" TEXT NOT NULL,
    "refresh_token" TEXT,
    "access_token" TEXT,
    "expires_at" INTEGER,
    "token_type" TEXT,
    "scope" TEXT,
    "id_token" TEXT,
    "session_state" TEXT,
    "refresh_token_expires_in" INTEGER,
    "refresh_error" TEXT,
    "refresh_token_expires_at" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("provider","providerAccountId")
);

-- CreateTable
CREATE TABLE "Session" (
    "sessionToken" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "expires" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL
);

-- CreateTable
CREATE TABLE "VerificationToken" (
    "identifier" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "expires" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "VerificationToken_pkey" PRIMARY KEY ("identifier","token")
);

-- CreateTable
CREATE TABLE "Authenticator" (
    "credentialID" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "providerAccountId" TEXT NOT NULL,
    "credentialPublicKey" TEXT NOT NULL,
    "counter" INTEGER NOT NULL,
    "credentialDeviceType" TEXT NOT NULL,
    "credentialBackedUp" BOOLEAN NOT NULL,
    "transports" TEXT,

    CONSTRAINT "Authenticator_pkey" PRIMARY KEY ("userId","credentialID")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "Session_sessionToken_key" ON "Session"("sessionToken");

-- CreateIndex
CREATE UNIQUE INDEX "Authenticator_credentialID_key" ON "Authenticator"("credentialID");

-- AddForeignKey
ALTER TABLE "Account" ADD CONSTRAINT "Account_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Authenticator" ADD CONSTRAINT "Authenticator_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Lease mode (authjs-adapter-refresh): model RefreshLease of ../prisma/schema.prisma (@@map("authjs_refresh_lease")).
-- CreateTable
CREATE TABLE "authjs_refresh_lease" (
    "provider" TEXT NOT NULL,
    "provider_account_id" TEXT NOT NULL,
    "fence" BIGINT NOT NULL,
    "holder" TEXT NOT NULL,
    "lease_until" TIMESTAMPTZ(3),

    CONSTRAINT "authjs_refresh_lease_pkey" PRIMARY KEY ("provider","provider_account_id")
);
