/**
 * The local image table: the process runtime cannot pull images, so an image with no
 * `command` is looked up here and run as the host command it maps to. The shipped table
 * (`images.json`, beside this file) is merged with a user file so users can add their own.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const entrySchema = z.object({
  command: z.array(z.string()).min(1),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
});
export type ImageEntry = z.infer<typeof entrySchema>;
export type ImageTable = ReadonlyMap<string, ImageEntry>;

const tableSchema = z.record(z.string(), entrySchema);

const here = dirname(fileURLToPath(import.meta.url));
export const shippedImageTablePath = join(here, 'images.json');

/** Values `${node}` and `${standIns}` take in table commands. */
const placeholders: Record<string, string> = {
  node: process.execPath,
  standIns: join(here, 'stand-ins'),
};

export class ImageTableError extends Error {
  override name = 'ImageTableError';
}

export function parseImageTable(text: string, source: string): Map<string, ImageEntry> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ImageTableError(`${source}: not JSON: ${(error as Error).message}`);
  }
  const parsed = tableSchema.safeParse(json);
  if (!parsed.success) throw new ImageTableError(`${source}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return new Map(Object.entries(parsed.data).map(([name, entry]) => [normalizeImageName(name), entry]));
}

/** The shipped table with the user's file (if it exists) laid over it, entry by entry. */
export function loadImageTable(userFile?: string): ImageTable {
  const table = parseImageTable(readFileSync(shippedImageTablePath, 'utf8'), shippedImageTablePath);
  if (userFile && existsSync(userFile)) {
    for (const [name, entry] of parseImageTable(readFileSync(userFile, 'utf8'), userFile)) table.set(name, entry);
  }
  return table;
}

/**
 * `docker.io/library/nginx:1.27` → `nginx:1.27`; a digest is dropped. Registry-qualified
 * names of other registries stay qualified so they never match a Docker Hub entry by accident.
 */
export function normalizeImageName(image: string): string {
  let name = image.trim().split('@')[0] ?? '';
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'library/', 'docker.io/']) {
    if (name.startsWith(prefix)) name = name.slice(prefix.length);
  }
  return name;
}

function withoutTag(name: string): string {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
}

export interface ResolvedImage {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Stands in for the registry digest: a hash of the entry the image resolved to. */
  readonly imageID: string;
}

/** The table entry for an image: exact `name:tag` first, then the name without its tag. */
export function lookupImage(table: ImageTable, image: string): ImageEntry | undefined {
  const name = normalizeImageName(image);
  return table.get(name) ?? table.get(withoutTag(name));
}

export function imageIdOf(image: string, entry: unknown): string {
  const digest = createHash('sha256').update(JSON.stringify(entry)).digest('hex');
  return `${withoutTag(normalizeImageName(image))}@sha256:${digest}`;
}

/**
 * What a container runs: its own command/args when it has a command; otherwise the table
 * entry's command with the container's args (or the entry's) — Docker's ENTRYPOINT/CMD rule.
 * Undefined when the image has no entry and the container gives no command.
 */
export function resolveImage(
  table: ImageTable,
  image: string,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): ResolvedImage | undefined {
  const entry = lookupImage(table, image);
  if (command && command.length > 0) {
    return { argv: [...command, ...(args ?? [])], env: entry?.env ?? {}, imageID: imageIdOf(image, entry ?? command) };
  }
  if (!entry) return undefined;
  const expand = (part: string) => part.replace(/\$\{(\w+)\}/g, (whole, key: string) => placeholders[key] ?? whole);
  return {
    argv: [...entry.command, ...(args ?? entry.args)].map(expand),
    env: entry.env,
    imageID: imageIdOf(image, entry),
  };
}
