/**
 * Boolean query parameters as kube-apiserver reads them. The options structs (ListOptions,
 * DeleteOptions, PatchOptions, PodLogOptions, ...) are decoded from the query by apimachinery's
 * `Convert_Slice_string_To_bool`: an absent parameter is false, `0` and `false` in any case are
 * false, and every other value — `true`, `True` (the Python client's), `1`, even an empty
 * string — is true. Nothing is refused. `pretty` is read apart with Go's `strconv.ParseBool`,
 * whose unknown values count as false.
 */

/** The parameter as one of the API's option flags; `undefined` when absent. */
export function optionalQueryFlag(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}

/** The parameter as one of the API's option flags, false when absent. */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  return optionalQueryFlag(query, name) ?? false;
}

const PARSE_BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

/** `?pretty=`: Go's `strconv.ParseBool` with its error ignored, as kube-apiserver's response writer does. */
export function wantsPrettyOutput(query: URLSearchParams): boolean {
  const value = query.get('pretty');
  return value !== null && PARSE_BOOL_TRUE.has(value);
}
