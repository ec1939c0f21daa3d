#!/usr/bin/env python3
"""Fails when a source file includes something its layer may not include.

The rules are ARCHITECTURE.md's table: each folder of src/ is a layer that
may include only the layers listed for it; nlohmann/json only in
src/config/adjustments_json.cpp; Python.h only under src/python; uv.h only in
net, server, runner, work/work_queue and the public server.hpp (whose API takes the host's
uv_loop_t*). Run by meson as the 'lint' test.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ALLOWED = {
    "core": set(),
    "app": {"waitron"},
    "config": {"core", "waitron"},
    "http": {"core", "waitron"},
    "pipeline": {"core", "http", "waitron"},
    "work": {"core", "http", "pipeline", "waitron"},
    "net": {"core", "http", "work", "waitron"},
    "python": {"core", "http", "waitron"},
    "server": {"core", "config", "http", "pipeline", "work", "net", "python", "waitron"},
    "runner": {"core", "config", "server", "python", "waitron"},
}
LAYERS = set(ALLOWED) | {"waitron"}
# The _waitron extension's composition root: it owns a loop for each Python server,
# exposes the config layer's command-line and JSON loaders to the Python package, and
# the runner's worker-process supervisor to the package's runner.
EXTENSION_ROOT = {"src/python/module.cpp", "src/python/server_object.cpp",
                  "src/python/supervise.cpp"}
# waitron-serve's embedded interpreter is the runner's: it may run the package's runner.
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def check(path: pathlib.Path) -> list[str]:
    rel = path.relative_to(ROOT)
    layer = rel.parts[1] if rel.parts[0] == "src" else "waitron"
    problems = []
    for target in INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
        top = target.split("/")[0]
        if str(rel) in EXTENSION_ROOT and top in ("config", "runner"):
            continue
        if top in LAYERS and top != layer and top not in ALLOWED.get(layer, set()):
            problems.append(f"{rel}: layer '{layer}' may not include {target}")
        if target.startswith("nlohmann/") and str(rel) != "src/config/adjustments_json.cpp":
            problems.append(f"{rel}: only src/config/adjustments_json.cpp may include {target}")
        if target == "Python.h" and layer != "python":
            problems.append(f"{rel}: only src/python may include Python.h")
        if target == "uv.h" and layer not in {"net", "server", "runner"} and str(rel) not in {
                "src/work/work_queue.hpp", "src/work/work_queue.cpp",
                "include/waitron/server.hpp", "src/app/listen_address.cpp"} | EXTENSION_ROOT:
            problems.append(f"{rel}: layer '{layer}' may not include uv.h")
        if target == "llhttp.h" and layer != "http":
            problems.append(f"{rel}: only src/http may include llhttp.h")
    return problems


def main() -> int:
    files = [p for d in ("src", "include") for p in (ROOT / d).rglob("*")
             if p.suffix in {".hpp", ".cpp", ".h", ".inc"}]
    problems = [msg for f in sorted(files) for msg in check(f)]
    for msg in problems:
        print(msg)
    print(f"check_layers: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
