-- CreateEnum
CREATE TYPE "BudgetPeriod" AS ENUM ('DAY', 'WEEK', 'MONTH');

-- CreateEnum
CREATE TYPE "BudgetLevel" AS ENUM ('WARN', 'CRITICAL', 'HARD');

-- CreateEnum
CREATE TYPE "AlertStatus" AS ENUM ('ACTIVE', 'RESOLVED');

-- CreateTable
CREATE TABLE "OrgBudget" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "projectId" UUID,
    "period" "BudgetPeriod" NOT NULL,
    "limitUsd" DECIMAL(14,4) NOT NULL,
    "warnPct" DOUBLE PRECISION NOT NULL DEFAULT 80,
    "criticalPct" DOUBLE PRECISION NOT NULL DEFAULT 95,
    "hardPct" DOUBLE PRECISION NOT NULL DEFAULT 100,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "OrgBudget_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BudgetCrossing" (
    "id" UUID NOT NULL,
    "budgetId" UUID NOT NULL,
    "periodStart" TIMESTAMP(3) NOT NULL,
    "level" "BudgetLevel" NOT NULL,
    "spentUsd" DECIMAL(14,8) NOT NULL,
    "limitUsd" DECIMAL(14,4) NOT NULL,
    "alertId" UUID,
    "switchActivatedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BudgetCrossing_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "dedupeKey" TEXT NOT NULL,
    "activeKey" TEXT,
    "rule" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "status" "AlertStatus" NOT NULL DEFAULT 'ACTIVE',
    "summary" TEXT NOT NULL,
    "details" JSONB,
    "value" DOUBLE PRECISION,
    "threshold" DOUBLE PRECISION,
    "projectId" UUID,
    "budgetId" UUID,
    "seenCount" INTEGER NOT NULL DEFAULT 1,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3),
    "notifyRound" INTEGER NOT NULL DEFAULT 1,
    "deliveredRound" INTEGER NOT NULL DEFAULT 0,
    "notifiedAt" TIMESTAMP(3),
    "resolvedAt" TIMESTAMP(3),
    "resolvedBy" TEXT,
    "resolveDeliveredAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OrgBudget_projectId_idx" ON "OrgBudget"("projectId");

-- CreateIndex
CREATE UNIQUE INDEX "BudgetCrossing_budgetId_periodStart_level_key" ON "BudgetCrossing"("budgetId", "periodStart", "level");

-- CreateIndex
CREATE UNIQUE INDEX "Alert_activeKey_key" ON "Alert"("activeKey");

-- CreateIndex
CREATE INDEX "Alert_status_createdAt_idx" ON "Alert"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Alert_dedupeKey_idx" ON "Alert"("dedupeKey");

-- CreateIndex
CREATE INDEX "LedgerEntry_createdAt_idx" ON "LedgerEntry"("createdAt");

-- AddForeignKey
ALTER TABLE "OrgBudget" ADD CONSTRAINT "OrgBudget_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BudgetCrossing" ADD CONSTRAINT "BudgetCrossing_budgetId_fkey" FOREIGN KEY ("budgetId") REFERENCES "OrgBudget"("id") ON DELETE CASCADE ON UPDATE CASCADE;

