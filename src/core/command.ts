/** A command as typed: `/name args`, or `/name@bot args` in a Telegram group with several bots. */
export interface ParsedCommand {
  /** Lower-cased: `/Help` and `/help` are the same command. */
  name: string;
  args: string;
  /** The bot named after `@` (`/help@kequn_bot`), as written; absent when none was named. */
  addressee?: string;
}

/**
 * The first word of a message starting with `/`, as Telegram and instructors write commands. The
 * one command grammar of kequn: the engine reads commands with it, and the Telegram adapter uses
 * it to leave `/help@otherbot` to the other bot.
 *
 * @example
 * parseCommand('/ref@kequn_bot ABC12'); // { name: 'ref', args: 'ABC12', addressee: 'kequn_bot' }
 * parseCommand('打卡 今天学了');          // null
 */
export function parseCommand(text: string): ParsedCommand | null {
  const m = /^\/([a-zA-Z][\w-]{0,31})(?:@(\w+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return null;
  const command: ParsedCommand = { name: m[1]!.toLowerCase(), args: (m[3] ?? '').trim() };
  if (m[2] !== undefined) command.addressee = m[2];
  return command;
}
