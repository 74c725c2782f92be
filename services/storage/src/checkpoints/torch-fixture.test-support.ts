import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's Python (set up by `npm run setup`), with torch. */
export const PYTHON = fileURLToPath(new URL("../../../../.venv/bin/python", import.meta.url));

/** Why torch cannot be used here, or undefined when it can. */
export function torchUnavailable(): string | undefined {
  if (!existsSync(PYTHON)) return `no Python at ${PYTHON}; run 'npm run setup'`;
  try {
    execFileSync(PYTHON, ["-c", "import torch"], { stdio: "pipe" });
    return undefined;
  } catch (err) {
    return `torch does not import in ${PYTHON}: ${String((err as { stderr?: Buffer }).stderr ?? err).slice(0, 300)}`;
  }
}

/**
 * Saves a checkpoint-like object with torch.save into `dir`/orig.pt (tensors
 * of several dtypes, a view sharing its base's storage, an empty tensor,
 * plain Python values) and splits the file into what the CheckpointService
 * stores: torch's own data.pkl as the skeleton, then each storage `data/<key>`.
 */
export function torchSaveEntries(dir: string): { name: string; kind: "skeleton" | "storage"; dtype: string; data: Buffer }[] {
  const script = `
import json, sys, zipfile, torch
torch.manual_seed(0)
w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
obj = {
  "state_dict": {"w": w, "row": w[1], "ids": torch.tensor([1, 2, 3], dtype=torch.int64),
                 "h": torch.randn(5, dtype=torch.bfloat16), "empty": torch.empty(0), "big": torch.randn(1000, 33)},
  "epoch": 3, "nested": [1.5, "text", {"half": torch.ones(2, dtype=torch.float16)}],
}
torch.save(obj, sys.argv[1] + "/orig.pt")
z = zipfile.ZipFile(sys.argv[1] + "/orig.pt")
prefix = z.namelist()[0].split("/")[0] + "/"
keys = sorted((n[len(prefix) + 5:] for n in z.namelist() if n.startswith(prefix + "data/")), key=int)
out = [{"name": "data.pkl", "kind": "skeleton", "file": "data.pkl"}]
open(sys.argv[1] + "/data.pkl", "wb").write(z.read(prefix + "data.pkl"))
for k in keys:
    open(f"{sys.argv[1]}/{k}.bin", "wb").write(z.read(prefix + "data/" + k))
    out.append({"name": k, "kind": "storage", "file": f"{k}.bin"})
print(json.dumps(out))
`;
  const listed = JSON.parse(execFileSync(PYTHON, ["-c", script, dir], { encoding: "utf8" })) as { name: string; kind: "skeleton" | "storage"; file: string }[];
  return listed.map((e) => ({ name: e.name, kind: e.kind, dtype: "", data: readFileSync(join(dir, e.file)) }));
}

/**
 * Loads `exported` with torch.load (plain and memory-mapped) and compares it
 * with `dir`/orig.pt: same structure, equal tensors of the same dtypes, the
 * view still sharing its base's storage, every CRC right, every storage
 * 64-byte aligned. Throws with Python's message when anything differs.
 */
export function checkTorchLoads(dir: string, exported: string): string {
  const script = `
import sys, zipfile, torch
orig = torch.load(sys.argv[1] + "/orig.pt")
def same(a, b, path):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), path
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for k in a: same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)): same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path
for mmap in (False, True):
    got = torch.load(sys.argv[2], mmap=mmap, weights_only=True)
    same(orig, got, "checkpoint")
    sd = got["state_dict"]
    assert sd["row"].untyped_storage().data_ptr() == sd["w"].untyped_storage().data_ptr(), "view lost its shared storage"
z = zipfile.ZipFile(sys.argv[2])
assert z.testzip() is None, "bad CRC"
reader = torch._C.PyTorchFileReader(sys.argv[2])
for rec in reader.get_all_records():
    assert reader.get_record_offset(rec) % 64 == 0, f"{rec} is not 64-byte aligned"
print("ok", len(z.namelist()))
`;
  return execFileSync(PYTHON, ["-c", script, dir, exported], { encoding: "utf8" }).trim();
}
