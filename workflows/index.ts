export { bugFixWorkflow } from './bug-fix.js';
export { triageWorkflow } from './triage.js';
export { sandboxReaperWorkflow } from './reaper.js';
export { safetyControllerWorkflow } from './safety-controller.js';
export { alertDispatchWorkflow, alertEvaluatorWorkflow } from './alerts.js';
