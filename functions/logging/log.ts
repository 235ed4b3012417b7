/**
 * The structured log every part of Skiff writes to: a message and fields, at a level. The cores
 * (the API, the controllers, the scheduler, the node agent) take a `Log`; the hosts make it with
 * `structured-log.ts`, so every entry has the same JSON shape in a Lambda and on a laptop.
 */

export type LogFields = Readonly<Record<string, unknown>>;

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** This log with `fields` on every entry: the component, the node. */
  child(fields: LogFields): Log;
}

export const silentLog: Log = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLog,
};

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface LogEntry {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: LogFields;
}

/** A log that keeps its entries in memory, for tests that check what was logged. */
export function memoryLog(entries: LogEntry[] = [], keys: LogFields = {}): Log & { readonly entries: LogEntry[] } {
  const write = (level: LogLevel) => (message: string, fields?: LogFields) => void entries.push({ level, message, fields: { ...keys, ...fields } });
  return {
    entries,
    debug: write('DEBUG'),
    info: write('INFO'),
    warn: write('WARN'),
    error: write('ERROR'),
    child: (fields) => memoryLog(entries, { ...keys, ...fields }),
  };
}
