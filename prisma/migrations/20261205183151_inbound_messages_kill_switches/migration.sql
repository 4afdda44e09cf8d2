-- CreateTable
CREATE TABLE "InboundMessage" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "source" TEXT NOT NULL,
    "sender" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "externalId" TEXT NOT NULL,
    "triageWorkflowId" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'PENDING',
    "lastError" TEXT,
    "runs" INTEGER NOT NULL DEFAULT 0,
    "taskQueue" TEXT NOT NULL,
    "workflowStartedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "InboundMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ActiveKillSwitch" (
    "taskQueue" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "activatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ActiveKillSwitch_pkey" PRIMARY KEY ("taskQueue","scope")
);

-- CreateIndex
CREATE UNIQUE INDEX "InboundMessage_triageWorkflowId_key" ON "InboundMessage"("triageWorkflowId");

-- CreateIndex
CREATE INDEX "InboundMessage_taskQueue_workflowStartedAt_createdAt_idx" ON "InboundMessage"("taskQueue", "workflowStartedAt", "createdAt");

-- CreateIndex
CREATE INDEX "InboundMessage_status_createdAt_idx" ON "InboundMessage"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "InboundMessage_projectId_externalId_key" ON "InboundMessage"("projectId", "externalId");

-- AddForeignKey
ALTER TABLE "InboundMessage" ADD CONSTRAINT "InboundMessage_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

