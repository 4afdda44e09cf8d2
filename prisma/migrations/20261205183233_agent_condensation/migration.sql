-- AlterTable
ALTER TABLE "LedgerEntry" ADD COLUMN     "purpose" TEXT NOT NULL DEFAULT 'agent';

-- CreateTable
CREATE TABLE "AgentCondensation" (
    "id" UUID NOT NULL,
    "workflowId" TEXT NOT NULL,
    "iteration" INTEGER NOT NULL,
    "keptFrom" INTEGER NOT NULL,
    "summary" TEXT NOT NULL,
    "response" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AgentCondensation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AgentCondensation_workflowId_iteration_key" ON "AgentCondensation"("workflowId", "iteration");


-- Rows written before the column: triage calls are the ones with no bug.
UPDATE "LedgerEntry" SET "purpose" = 'triage' WHERE "bugId" IS NULL;
