-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "github" JSONB NOT NULL DEFAULT '{}';

-- CreateTable
CREATE TABLE "GitHubDelivery" (
    "id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "action" TEXT,
    "repoFullName" TEXT,
    "projectId" UUID,
    "sender" TEXT,
    "issueNumber" INTEGER,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "trigger" JSONB,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dispatchedAt" TIMESTAMP(3),

    CONSTRAINT "GitHubDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GitHubDelivery_outcome_receivedAt_idx" ON "GitHubDelivery"("outcome", "receivedAt");

