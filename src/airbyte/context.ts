/** What every command gets from the entry point. */
import type { Writer } from '../protocol/writer.js';

export interface CommandContext {
  writer: Writer;
  signal: AbortSignal;
}

/** A command resolves to the process exit code. */
export type Command<A> = (ctx: CommandContext, args: A) => Promise<number>;
