/**
 * The one implementation of `Log`: Powertools for AWS Lambda's `Logger`, one JSON object per
 * line with `level`, `message`, `timestamp`, `service` and the entry's fields. In a Lambda the
 * handler's middy chain adds the invocation's context to every entry with `injectLambdaContext`
 * (`@aws-lambda-powertools/logger/middleware`): `function_name`, `function_request_id`,
 * `cold_start`. The local host, the node agents and the CLI use the same Logger, so an entry
 * reads the same wherever it was written. The level comes from `POWERTOOLS_LOG_LEVEL` (INFO
 * when unset), as Powertools reads it.
 */
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { Log, LogFields } from './log.ts';

/** `service` of every entry; the `component` field tells the parts apart. */
export const serviceName = 'skiff';

export interface StructuredLoggerOptions {
  /** Where each JSON line goes. @default Powertools' own console: stdout, warnings and errors on stderr */
  readonly write?: (line: string) => void;
}

/** Powertools' Logger, printing each entry through `write` instead of its console. */
class LineLogger extends Logger {
  // Not a `#private` field: Powertools may print from inside its constructor, before this is set.
  private readonly writeLine?: (line: string) => void;

  constructor(writeLine: (line: string) => void) {
    super({ serviceName });
    this.writeLine = writeLine;
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (!this.writeLine) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    this.writeLine(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

/** The Logger of a process: give it to `injectLambdaContext` in a Lambda, and to `logTo` everywhere. */
export function createLogger(options: StructuredLoggerOptions = {}): Logger {
  return options.write ? new LineLogger(options.write) : new Logger({ serviceName });
}

/** A `Log` writing through `logger`, with `keys` on every entry. */
export function logTo(logger: Logger, keys: LogFields = {}): Log {
  const entry = (fields?: LogFields) => ({ ...keys, ...fields });
  return {
    debug: (message, fields) => logger.debug(message, entry(fields)),
    info: (message, fields) => logger.info(message, entry(fields)),
    warn: (message, fields) => logger.warn(message, entry(fields)),
    error: (message, fields) => logger.error(message, entry(fields)),
    child: (fields) => logTo(logger, { ...keys, ...fields }),
  };
}
