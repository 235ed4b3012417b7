/**
 * Kubernetes resource quantities (`100m`, `0.5`, `128Mi`, `1G`, `1e3`) as plain numbers of the
 * base unit (cores, bytes, count). Invalid text is undefined: the API validates quantities, so
 * the scheduler and the node agent only need to be safe, not helpful, about bad ones.
 */

const suffixes: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const quantityPattern = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/;

export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = quantityPattern.exec(value.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  const multiplier = suffixes[match[2] ?? ''];
  if (!Number.isFinite(number) || multiplier === undefined) return undefined;
  return number * multiplier;
}

/** CPU in millicores, rounded up as Kubernetes does (`0.0001` is 1m). */
export function parseMilliCpu(value: unknown): number | undefined {
  const cores = parseQuantity(value);
  return cores === undefined ? undefined : Math.ceil(Math.round(cores * 1e9) / 1e6);
}
