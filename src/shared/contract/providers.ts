/** Sandbox providers the contract knows; a deployment enables some of them (see enabledProviders). */
export const PROVIDER_NAMES = ['local', 'e2b'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * The providers a deployment runs: its default (SANDBOX_PROVIDER), and e2b
 * whenever E2B_API_KEY is set. Every worker of a deployment has all of them,
 * since they share one queue (a worker without one hands its jobs back).
 */
export function enabledProviders(settings: { SANDBOX_PROVIDER: ProviderName; E2B_API_KEY?: string | undefined }): ProviderName[] {
  const names = new Set<ProviderName>([settings.SANDBOX_PROVIDER]);
  if (settings.E2B_API_KEY) names.add('e2b');
  return PROVIDER_NAMES.filter((name) => names.has(name));
}
