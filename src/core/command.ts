/** The first word of a message starting with `/`, as Telegram and instructors write commands. */
export function parseCommand(text: string): { name: string; args: string } | null {
  const m = /^\/([a-zA-Z][\w-]{0,31})(?:@\w+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  return m ? { name: m[1]!.toLowerCase(), args: (m[2] ?? '').trim() } : null;
}
