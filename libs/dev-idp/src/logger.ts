/** One structured log entry; callers must never put tokens, codes or passwords in it. */
export interface DevIdpLogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly event: string;
  readonly [field: string]: unknown;
}

export type DevIdpLogger = (entry: DevIdpLogEntry) => void;

/** Default for library use (tests): silent. The app passes a JSON-lines logger. */
export const silentLogger: DevIdpLogger = () => undefined;

/** Writes each entry as one JSON line to stdout, with a timestamp. */
export const jsonLinesLogger: DevIdpLogger = (entry) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};
