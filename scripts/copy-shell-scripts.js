// tsc copies only TypeScript: this puts every provider/**/*.sh at the same place under dist/provider, where the
// compiled loader (provider/drivers/shell.ts) reads them. Stale copies are removed first.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const src = path.join(root, "provider");
const dst = path.join(root, "dist", "provider");

function walk(dir, visit) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, visit);
    else if (e.name.endsWith(".sh")) visit(p);
  }
}

walk(dst, (p) => fs.rmSync(p));
let n = 0;
walk(src, (p) => {
  const out = path.join(dst, path.relative(src, p));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(p, out);
  n++;
});
if (n === 0) throw new Error("copy-shell-scripts: no .sh file under provider/");
