/**
 * The GitHub conversation's task queue next to a main queue. Pure, so workflows derive it from
 * their own queue (workflowInfo().taskQueue) and the worker from its configuration alike.
 */
export function githubQueueOf(mainQueue: string): string {
  return `${mainQueue}-github`;
}
