-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "reproduction" TEXT NOT NULL DEFAULT 'preferred';

-- CreateTable
CREATE TABLE "FixBriefing" (
    "workflowId" TEXT NOT NULL,
    "baseline" JSONB NOT NULL,
    "instructions" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FixBriefing_pkey" PRIMARY KEY ("workflowId")
);

