/** Store locations: a SQLite file path (or `:memory:`), or a PostgreSQL URL. */

export function isPostgresUrl(path: string): boolean {
  return /^postgres(ql)?:\/\//.test(path);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
