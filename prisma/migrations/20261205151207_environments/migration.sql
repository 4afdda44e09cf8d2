-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "environment" JSONB,
ADD COLUMN     "environmentSecrets" JSONB NOT NULL DEFAULT '{}';

-- CreateTable
CREATE TABLE "EnvironmentImage" (
    "id" UUID NOT NULL,
    "host" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "projectKey" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "tag" TEXT NOT NULL,
    "imageId" TEXT,
    "baseSha" TEXT NOT NULL,
    "toolchainImage" TEXT NOT NULL,
    "sizeBytes" BIGINT,
    "setupMs" INTEGER,
    "egress" JSONB NOT NULL DEFAULT '[]',
    "outputTail" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EnvironmentImage_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "EnvironmentImage_host_lastUsedAt_idx" ON "EnvironmentImage"("host", "lastUsedAt");

-- CreateIndex
CREATE UNIQUE INDEX "EnvironmentImage_host_key_key" ON "EnvironmentImage"("host", "key");

