/** The fields of `options` that are set: spreading it then never replaces a default with `undefined`. */
export function withoutUnset<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}
