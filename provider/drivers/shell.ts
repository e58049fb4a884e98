// Remote scripts are real shell files, provider/drivers/<driver>/scripts/<name>.sh, shipped beside the compiled
// code (the build copies them into dist). They reach a host as `sh -c SCRIPT sh ARGS...`, so the host has no copy
// of them: a line `. ./<fragment>.sh` in a script is replaced here by that fragment's text (from the same folder),
// and the text sent is one self-contained script. Locally the same line sources the fragment, so `sh -n` and
// `shellcheck -x` check a script together with its fragments.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const INCLUDE = /^\. \.\/([a-z0-9-]+\.sh)$/;
const loaded = new Map<string, string>();

/** The folder holding a driver's scripts (source tree or dist: the layout is the same). */
export function scriptsDir(driver: string): string {
  return join(__dirname, driver, "scripts");
}

/** The text of provider/drivers/<driver>/scripts/<file>, fragments inlined. Read from disk once per process. */
export function shellScript(driver: string, file: string): string {
  const key = `${driver}/${file}`;
  let text = loaded.get(key);
  if (text === undefined) {
    text = inline(scriptsDir(driver), file, []);
    loaded.set(key, text);
  }
  return text;
}

function inline(dir: string, file: string, outer: string[]): string {
  if (outer.includes(file)) throw new Error(`shell script ${file} includes itself (through ${outer.join(" -> ")})`);
  const lines = readFileSync(join(dir, file), "utf8").split("\n");
  return lines
    .map((line) => {
      const m = INCLUDE.exec(line);
      return m ? inline(dir, m[1], [...outer, file]).replace(/\n$/, "") : line;
    })
    .join("\n");
}
