/**
 * Accept headers as Kubernetes clients write them: media ranges with parameters that pick a
 * representation (`application/json;as=Table;v=v1;g=meta.k8s.io`). Clients list what they
 * prefer first and do not use q-values, so order decides.
 */

export interface MediaRange {
  /** Lower-case `type/subtype`. */
  readonly type: string;
  /** Parameter names in lower case; values as sent (`as=Table`). */
  readonly parameters: ReadonlyMap<string, string>;
}

/** The media ranges of an Accept header in the client's order, without those it refuses (q=0). */
export function parseAccept(accept: string | undefined): readonly MediaRange[] {
  if (!accept) return [];
  return accept
    .split(',')
    .map((part): MediaRange => {
      const [type = '', ...rest] = part.split(';').map((piece) => piece.trim());
      const parameters = new Map<string, string>();
      for (const piece of rest) {
        const equals = piece.indexOf('=');
        if (equals > 0)
          parameters.set(
            piece.slice(0, equals).trim().toLowerCase(),
            piece
              .slice(equals + 1)
              .trim()
              .replace(/^"|"$/g, ''),
          );
      }
      return { type: type.toLowerCase(), parameters };
    })
    .filter((range) => range.type !== '' && !/^0(\.0*)?$/.test(range.parameters.get('q') ?? ''));
}

/** Ranges a JSON body satisfies. */
export function acceptsJson(range: MediaRange): boolean {
  return range.type === 'application/json' || range.type === 'application/*' || range.type === '*/*';
}
