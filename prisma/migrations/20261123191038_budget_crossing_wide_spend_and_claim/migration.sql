-- AlterTable
ALTER TABLE "BudgetCrossing" ADD COLUMN     "switchClaimedUntil" TIMESTAMP(3),
ALTER COLUMN "spentUsd" SET DATA TYPE DECIMAL(20,8);

