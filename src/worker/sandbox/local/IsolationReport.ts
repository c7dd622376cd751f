/** What the local provider can enforce on this host; printed by `sandq doctor`, warnings shown in /readyz. */
export interface IsolationReport {
  bwrap: string;
  /** Namespaces verified unshared by a probe sandbox. */
  namespaces: string[];
  identity: string;
  seccomp: string;
  cgroups: string;
  workDir: string;
  /** Weaker-than-intended isolation the operator should know about. */
  warnings: string[];
}
