/** Metadata keys on every sandbox sandq creates: whose it is, so that leftovers can be found and killed. */
export const DEPLOYMENT_KEY = 'sandq-deployment';
export const WORKER_KEY = 'sandq-worker';

export function sandboxMetadata(deploymentName: string, workerId: string): Record<string, string> {
  return { [DEPLOYMENT_KEY]: deploymentName, [WORKER_KEY]: workerId };
}
