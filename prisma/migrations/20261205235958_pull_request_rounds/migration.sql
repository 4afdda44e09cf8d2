-- CreateTable
CREATE TABLE "PullRequestRound" (
    "id" TEXT NOT NULL,
    "bugId" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "repoFullName" TEXT NOT NULL,
    "prNumber" INTEGER NOT NULL,
    "round" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "headSha" TEXT NOT NULL,
    "feedback" TEXT NOT NULL,
    "threads" JSONB NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "reason" TEXT,
    "commitSha" TEXT,
    "summary" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "PullRequestRound_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "PullRequestRound_repoFullName_prNumber_round_key" ON "PullRequestRound"("repoFullName", "prNumber", "round");

