-- AlterTable
ALTER TABLE "BugReport" ADD COLUMN     "claimedUntil" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "GitHubDelivery" ADD COLUMN     "claimedUntil" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "InboundMessage" ADD COLUMN     "claimedUntil" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "RateLimitBucket" (
    "key" TEXT NOT NULL,
    "tokens" DOUBLE PRECISION NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "fullAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RateLimitBucket_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "RateLimitBucket_fullAt_idx" ON "RateLimitBucket"("fullAt");

