/**
 * The port of a directory of Service names outside the cluster (docs/adr/146): on AWS, Cloud
 * Map (`functions/aws/cloud-map-directory.ts`); the service discovery controller keeps it in step.
 */
export interface ServiceDirectory {
  /** Makes `<name>.<namespace>` answer with exactly these addresses (none: the name stays, with no record). */
  publish(namespace: string, name: string, addresses: readonly string[]): Promise<void>;
  /** Removes the name; false while that is not done yet (instances still being deregistered). */
  withdraw(namespace: string, name: string): Promise<boolean>;
}
