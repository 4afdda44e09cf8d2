-- AlterTable
ALTER TABLE "LedgerEntry" ALTER COLUMN "bugId" DROP NOT NULL;

