/**
 * Sets process environment variables for a test file (a Lambda handler reads its settings from
 * them) and puts back what was there before.
 */
const saved: Record<string, string | undefined> = {};

export function setEnvironment(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
}

export function restoreEnvironment(): void {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
