import type { Environment } from '@app/config';
import pretty from 'pino-pretty';

/** JSON lines for machines; readable lines when a person watches a terminal (not production). */
export function logFormat(environment: Environment): 'json' | 'pretty' {
  if (environment.LOG_FORMAT) return environment.LOG_FORMAT;
  return process.stdout.isTTY && environment.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

interface LogLine {
  context?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
  [key: string]: unknown;
}

/**
 * pino-pretty in this process, synchronous (so the banner printed after it stays in order):
 * `HH:MM:ss INFO [Context] message`, requests as `GET /url` and `200 in 12 ms`.
 */
export function prettyStream(): NodeJS.WritableStream {
  return pretty({
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,context,req,res,reqId,responseTime',
    singleLine: true,
    messageFormat: (log: LogLine, messageKey: string) => {
      const context = log.context ? `[${log.context}] ` : '';
      const raw = log[messageKey];
      const message = typeof raw === 'string' ? raw : JSON.stringify(raw ?? '');
      if (log.req) return `${context}${log.req.method} ${log.req.url}`;
      if (log.res) {
        return `${context}${log.res.statusCode} in ${Math.round(log.responseTime ?? 0)} ms`;
      }
      return `${context}${message}`;
    },
  });
}
