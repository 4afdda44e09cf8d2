-- DropIndex
DROP INDEX "BugReport_workflowStartedAt_createdAt_idx";

-- AlterTable
ALTER TABLE "BugReport" ADD COLUMN     "taskQueue" TEXT;

-- CreateIndex
CREATE INDEX "BugReport_taskQueue_workflowStartedAt_createdAt_idx" ON "BugReport"("taskQueue", "workflowStartedAt", "createdAt");

