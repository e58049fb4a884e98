#!/usr/bin/env node
// pulumi-virt command line: `pulumi-virt review [FILE|-] [--format table|markdown] [--fail-on restart|replace]`.
import { readFileSync } from "node:fs";
import { buildReview, renderMarkdown, renderTable, shouldFail } from "./review";

const USAGE = `usage: pulumi-virt review [FILE|-] [--format table|markdown] [--fail-on restart|replace]
  Reads the output of \`pulumi preview --json\` (from FILE, or stdin when FILE is - or absent) and prints,
  per resource and property, old → new, the action (live / restart / replace) and the reason, then totals.
  --fail-on restart   exit 3 when any change restarts or replaces a guest or container
  --fail-on replace   exit 3 when any change replaces one`;

function fail(msg: string): never {
  process.stderr.write(`pulumi-virt: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help") {
    process.stdout.write(USAGE + "\n");
    return cmd ? 0 : 2;
  }
  if (cmd !== "review") fail(`unknown command "${cmd}"`);
  let file = "-";
  let format: "table" | "markdown" = "table";
  let failOn: "restart" | "replace" | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--format") {
      const v = rest[++i];
      if (v !== "table" && v !== "markdown") fail(`--format must be "table" or "markdown", got ${JSON.stringify(v)}`);
      format = v;
    } else if (a === "--fail-on") {
      const v = rest[++i];
      if (v !== "restart" && v !== "replace") fail(`--fail-on must be "restart" or "replace", got ${JSON.stringify(v)}`);
      failOn = v;
    } else if (a.startsWith("-") && a !== "-") fail(`unknown option ${a}`);
    else file = a;
  }
  let text: string;
  try {
    text = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    fail(`cannot read ${file === "-" ? "stdin" : file}: ${(e as Error).message}`);
  }
  let preview: unknown;
  try {
    // `pulumi preview --json` may be preceded by program output on stdout: start at the first "{" line.
    const start = text.search(/^\{/m);
    preview = JSON.parse(start > 0 ? text.slice(start) : text);
  } catch (e) {
    fail(`input is not the JSON of \`pulumi preview --json\`: ${(e as Error).message}`);
  }
  const review = buildReview(preview);
  process.stdout.write(format === "markdown" ? renderMarkdown(review) : renderTable(review));
  return shouldFail(review, failOn) ? 3 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
