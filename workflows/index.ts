export { bugFixWorkflow } from './bug-fix/workflow.js';
export { triageWorkflow } from './triage-message.js';
export { sandboxReaperWorkflow } from './sandbox-reaper.js';
export { safetyControllerWorkflow } from './safety-controller.js';
export { alertDispatchWorkflow, alertEvaluatorWorkflow } from './alert-evaluator.js';
export { environmentBuildWorkflow } from './environment-build.js';
export { githubIssueWorkflow } from './github-issue/workflow.js';
export { githubPullWorkflow } from './github-pull/workflow.js';
