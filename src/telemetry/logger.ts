import { pino, type Logger as PinoLogger, type LevelWithSilent } from "pino";

export type Logger = PinoLogger;

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Where log lines go; stdout by default. Tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
  /** Also write to this file, rolled at 20 MB with 5 old files kept (pino-roll, in a worker thread). */
  file?: string | null;
}

const pinoOptions = (level: LevelWithSilent) => ({
  level,
  base: { pid: process.pid },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
});

/** Structured JSON logs (pino). One logger per LMX instance, children per component. */
export function createLogger(options: LoggerOptions): Logger {
  if (options.file && !options.destination) {
    const transport = pino.transport({
      targets: [
        { target: "pino/file", options: { destination: 1 }, level: "trace" },
        { target: "pino-roll", options: { file: options.file, size: "20m", mkdir: true, limit: { count: 5 } }, level: "trace" },
      ],
    });
    return pino(pinoOptions(options.level), transport);
  }
  return pino(pinoOptions(options.level), options.destination ?? pino.destination({ dest: 1, sync: false }));
}
