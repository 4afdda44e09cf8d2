-- CreateEnum
CREATE TYPE "AdminRole" AS ENUM ('VIEWER', 'OPERATOR', 'ADMIN');

-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "budgets" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "notifications" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "prDraft" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "prLabels" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "sandbox" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "scopeLimits" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "BugReport" ADD COLUMN     "githubIssueNumber" INTEGER;

-- CreateTable
CREATE TABLE "SafetyEvent" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "severity" TEXT NOT NULL DEFAULT 'warning',
    "message" TEXT NOT NULL,
    "workflowId" TEXT,
    "bugId" UUID,
    "projectId" UUID,
    "actor" TEXT,
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SafetyEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkspaceCheckpoint" (
    "id" UUID NOT NULL,
    "workflowId" TEXT NOT NULL,
    "iteration" INTEGER NOT NULL,
    "baseSha" TEXT NOT NULL,
    "headSha" TEXT NOT NULL,
    "bundle" BYTEA,
    "patch" BYTEA,
    "untrackedTar" BYTEA,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "WorkspaceCheckpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AdminToken" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "role" "AdminRole" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "AdminToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "NotificationDelivery" (
    "id" UUID NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "workflowId" TEXT,
    "response" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NotificationDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "SafetyEvent_workflowId_idx" ON "SafetyEvent"("workflowId");

-- CreateIndex
CREATE INDEX "SafetyEvent_kind_createdAt_idx" ON "SafetyEvent"("kind", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "WorkspaceCheckpoint_workflowId_iteration_key" ON "WorkspaceCheckpoint"("workflowId", "iteration");

-- CreateIndex
CREATE UNIQUE INDEX "AdminToken_tokenHash_key" ON "AdminToken"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "NotificationDelivery_idempotencyKey_key" ON "NotificationDelivery"("idempotencyKey");

-- CreateIndex
CREATE INDEX "NotificationDelivery_workflowId_idx" ON "NotificationDelivery"("workflowId");

