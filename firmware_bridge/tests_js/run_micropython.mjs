// Run a Python script under real MicroPython (the WebAssembly port) with modules beside it.
// Usage: node run_micropython.mjs SCRIPT.py [MODULE.py ...]
// Each MODULE.py is copied to the root of MicroPython's file system (importable by name).
// Prints the script's stdout; exits 1 with the Python traceback on an exception.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const [script, ...modules] = process.argv.slice(2);
const out = [];
const mp = await loadMicroPython({ stdout: (line) => out.push(line), stderr: (line) => out.push(line) });
for (const path of modules) {
  mp.FS.writeFile("/" + basename(path), readFileSync(path, "utf8"));
}
try {
  mp.runPython("import sys\nsys.path.insert(0, '/')\n" + readFileSync(script, "utf8"));
} catch (err) {
  process.stdout.write(out.join("\n") + "\n");
  process.stderr.write(String(err) + "\n");
  process.exit(1);
}
process.stdout.write(out.join("\n") + "\n");
