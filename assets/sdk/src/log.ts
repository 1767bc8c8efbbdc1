export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, data?: unknown) => void;

/** Console logger: debug lines only when `debug` is on; everything prefixed with `[cpaas]`. */
export function consoleLog(debug: boolean): LogFn {
  return (level, msg, data) => {
    if (level === 'debug' && !debug) return;
    const fn = level === 'debug' ? console.debug : level === 'info' ? console.info : level === 'warn' ? console.warn : console.error;
    if (data === undefined) fn(`[cpaas] ${msg}`);
    else fn(`[cpaas] ${msg}`, data);
  };
}
