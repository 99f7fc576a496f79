import { createInterface } from "node:readline/promises";

/**
 * Asks a yes/no question on the terminal; "no" unless the answer starts with y. Callers skip it
 * (and proceed) when stdin is not a terminal: a script has said what it wants by running the command.
 */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export const canAsk = (): boolean => Boolean(process.stdin.isTTY && process.stderr.isTTY);
