// The main process's log: one line per entry, appended to a file under the app's logs folder (userData), so
// blocked requests and refused IPC calls leave a trace an examiner can read after the session.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = keyof Logger;

export function formatLogLine(level: LogLevel, message: string, now: Date = new Date()): string {
  // One entry, one line: newlines inside messages (stacks) are indented continuation lines.
  return `${now.toISOString()} ${level.toUpperCase().padEnd(5)} ${message.replace(/\r?\n/g, '\n    ')}\n`;
}

/** Appends to `<dir>/<name>`; also mirrors to stderr so a terminal launch shows the same lines. */
export function createFileLogger(dir: string, name = 'main.log', mirror: NodeJS.WritableStream | null = process.stderr): Logger & { file: string } {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  const write = (level: LogLevel, message: string) => {
    const line = formatLogLine(level, message);
    try {
      appendFileSync(file, line);
    } catch (err) {
      // A full or read-only disk must not take the app down; the mirror still shows the entry.
      mirror?.write(`log write to ${file} failed: ${(err as Error).message}\n`);
    }
    mirror?.write(line);
  };
  return {
    file,
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}
