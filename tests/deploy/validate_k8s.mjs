// Validates rendered Kubernetes manifests offline against the API types of the npm package
// kubernetes-models (field types, required fields, formats; unknown fields are not caught).
//   NODE_PATH=<dir>/node_modules node validate_k8s.mjs FILE.yaml...
// Each FILE is a multi-document YAML stream converted to JSON lines by the caller
// (check-deploy pipes `python3 -c yaml->json`), one object per line.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const modelsDir = process.env.KUBERNETES_MODELS_DIR;
if (!modelsDir) {
  console.error("KUBERNETES_MODELS_DIR is not set (the node_modules/kubernetes-models directory)");
  process.exit(2);
}
let failures = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
  for (const line of lines) {
    const obj = JSON.parse(line);
    // kustomize wraps long base64 values over lines; the API server's decoder skips the line
    // breaks, the schema's "byte" format does not.
    if (obj.kind === "Secret" && obj.data) {
      for (const key of Object.keys(obj.data)) obj.data[key] = obj.data[key].replace(/\s+/g, "");
    }
    const [group, version] = obj.apiVersion.includes("/")
      ? obj.apiVersion.split("/")
      : [null, obj.apiVersion];
    const dir = group ? path.join(modelsDir, group, version) : path.join(modelsDir, version);
    const where = `${path.basename(file)}: ${obj.kind}/${obj.metadata?.name}`;
    let Model;
    try {
      Model = (await import(pathToFileURL(path.join(dir, `${obj.kind}.js`)).href))[obj.kind];
    } catch (e) {
      console.log(`  error: ${where}: no model for ${obj.apiVersion} ${obj.kind}`);
      failures++;
      continue;
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (e) {
      console.log(`  error: ${where}: ${e.message}`);
      failures++;
    }
  }
}
console.log(`${failures ? "FAILED" : "ok"}: ${checked} objects valid, ${failures} invalid`);
process.exit(failures ? 1 : 0);
