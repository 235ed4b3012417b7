/**
 * The two timestamp formats of the Kubernetes API (RFC 3339, always UTC):
 *
 * - `Time` (`metav1.Time`): whole seconds, `2026-01-01T12:00:00Z`. Object metadata, conditions,
 *   container states, Event timestamps, managedFields.
 * - `MicroTime` (`metav1.MicroTime`): six fractional digits, `2026-01-01T12:00:00.250000Z`.
 *   Lease `renewTime`/`acquireTime`, Event `eventTime`. JavaScript dates carry milliseconds, so
 *   the last three digits are zeros.
 */

/** `Time`: the instant, truncated to the second. */
export function kubeTime(at: Date | number): string {
  return `${isoString(at).slice(0, 19)}Z`;
}

/** `MicroTime`: the instant to the millisecond, written with six fractional digits. */
export function kubeMicroTime(at: Date | number): string {
  return `${isoString(at).slice(0, 23)}000Z`;
}

function isoString(at: Date | number): string {
  return (typeof at === 'number' ? new Date(at) : at).toISOString();
}
