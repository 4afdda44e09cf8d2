-- AlterTable
ALTER TABLE "LedgerEntry" ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'answered';

