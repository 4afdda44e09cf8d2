-- AlterTable
ALTER TABLE "BugReport" ADD COLUMN     "workflowStartedAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "BugReport_workflowStartedAt_createdAt_idx" ON "BugReport"("workflowStartedAt", "createdAt");


-- Rows filed before the outbox existed were started synchronously by the intake.
UPDATE "BugReport" SET "workflowStartedAt" = "createdAt";
