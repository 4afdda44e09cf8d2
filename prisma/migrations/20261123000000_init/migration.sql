-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "BugPriority" AS ENUM ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW');

-- CreateEnum
CREATE TYPE "BugStatus" AS ENUM ('QUEUED', 'IN_PROGRESS', 'PR_CREATED', 'FAILED', 'CANCELLED');

-- CreateTable
CREATE TABLE "Project" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "repoOwner" TEXT NOT NULL,
    "repoName" TEXT NOT NULL,
    "cloneUrl" TEXT,
    "defaultBranch" TEXT NOT NULL DEFAULT 'main',
    "validation" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Project_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IntakeKey" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "keyHash" TEXT NOT NULL,
    "label" TEXT NOT NULL DEFAULT 'default',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "IntakeKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BugReport" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "source" TEXT NOT NULL DEFAULT 'api',
    "externalId" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "reproductionSteps" TEXT,
    "errorLogs" TEXT,
    "priority" "BugPriority" NOT NULL DEFAULT 'MEDIUM',
    "reporter" TEXT,
    "status" "BugStatus" NOT NULL DEFAULT 'QUEUED',
    "statusReason" TEXT,
    "workflowId" TEXT NOT NULL,
    "fixBranch" TEXT,
    "prUrl" TEXT,
    "prNumber" INTEGER,
    "iterations" INTEGER,
    "tokensUsed" INTEGER,
    "costUsd" DECIMAL(14,8),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "BugReport_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AgentTurn" (
    "id" UUID NOT NULL,
    "workflowId" TEXT NOT NULL,
    "iteration" INTEGER NOT NULL,
    "response" JSONB NOT NULL,
    "stopReason" TEXT,
    "followUp" JSONB,
    "notes" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AgentTurn_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LedgerEntry" (
    "id" UUID NOT NULL,
    "callKey" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "projectId" UUID NOT NULL,
    "bugId" UUID NOT NULL,
    "iteration" INTEGER NOT NULL,
    "model" TEXT NOT NULL,
    "inputTokens" INTEGER NOT NULL,
    "outputTokens" INTEGER NOT NULL,
    "cacheCreationTokens" INTEGER NOT NULL DEFAULT 0,
    "cacheReadTokens" INTEGER NOT NULL DEFAULT 0,
    "costUsd" DECIMAL(14,8) NOT NULL,
    "providerRequestId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LedgerEntry_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Project_key_key" ON "Project"("key");

-- CreateIndex
CREATE UNIQUE INDEX "IntakeKey_keyHash_key" ON "IntakeKey"("keyHash");

-- CreateIndex
CREATE UNIQUE INDEX "BugReport_workflowId_key" ON "BugReport"("workflowId");

-- CreateIndex
CREATE INDEX "BugReport_status_idx" ON "BugReport"("status");

-- CreateIndex
CREATE UNIQUE INDEX "BugReport_projectId_externalId_key" ON "BugReport"("projectId", "externalId");

-- CreateIndex
CREATE UNIQUE INDEX "AgentTurn_workflowId_iteration_key" ON "AgentTurn"("workflowId", "iteration");

-- CreateIndex
CREATE UNIQUE INDEX "LedgerEntry_callKey_key" ON "LedgerEntry"("callKey");

-- CreateIndex
CREATE INDEX "LedgerEntry_workflowId_idx" ON "LedgerEntry"("workflowId");

-- CreateIndex
CREATE INDEX "LedgerEntry_projectId_createdAt_idx" ON "LedgerEntry"("projectId", "createdAt");

-- AddForeignKey
ALTER TABLE "IntakeKey" ADD CONSTRAINT "IntakeKey_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BugReport" ADD CONSTRAINT "BugReport_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

