// POSIX shell quoting. Every argv element becomes exactly one shell word, whatever bytes it holds:
// inside single quotes nothing is special, and a single quote itself is written as '\''.
// Every word is quoted, even plain ones, so a first word such as `if` or `A=b` can never act as a
// keyword or an assignment.

/** Quote one argument for a POSIX shell. Rejects NUL, which no argv element can carry. */
export function quoteArg(arg: string): string {
  if (arg.includes("\0")) throw new Error("argument contains a NUL byte, which a command-line argument cannot carry");
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A shell command line that runs argv[0] with argv[1..] as separate arguments, nothing expanded. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error("empty argv: nothing to run");
  return argv.map(quoteArg).join(" ");
}
