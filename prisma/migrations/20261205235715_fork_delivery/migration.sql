-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "delivery" JSONB NOT NULL DEFAULT '{}';

-- AlterTable
ALTER TABLE "BugReport" ADD COLUMN     "fixRepo" TEXT;

