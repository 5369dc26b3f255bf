#!/usr/bin/env python3
"""Checks the dependency rule of shared/DESIGN.md over every #include in src/, include/ and tools/.

api -> state -> machine -> { devices | cpu -> { smm, svm } -> exec -> event -> { decode, mmu }
-> cpu/state } -> mem -> bus -> arch -> base. Siblings in braces never include each other;
include/vx86 (the public API) includes only itself; tools/ includes only include/vx86.
"""
import pathlib
import re
import sys

ORDER = {
    # layer: layers it may include (besides itself and the public vx86/ headers)
    "base": [],
    "arch": ["base"],
    "bus": ["arch", "base"],
    "mem": ["bus", "arch", "base"],
    "cpu/state": ["mem", "bus", "arch", "base"],
    "cpu/decode": ["cpu/state", "mem", "bus", "arch", "base"],
    "cpu/mmu": ["cpu/state", "mem", "bus", "arch", "base"],
    "cpu/event": ["cpu/decode", "cpu/mmu", "cpu/state", "mem", "bus", "arch", "base"],
    "cpu/exec": ["cpu/event", "cpu/decode", "cpu/mmu", "cpu/state", "mem", "bus", "arch", "base"],
    "cpu/smm": ["cpu/exec", "cpu/event", "cpu/decode", "cpu/mmu", "cpu/state", "mem", "bus", "arch", "base"],
    "cpu/svm": ["cpu/exec", "cpu/event", "cpu/decode", "cpu/mmu", "cpu/state", "mem", "bus", "arch", "base"],
    "cpu": ["cpu/smm", "cpu/svm", "cpu/exec", "cpu/event", "cpu/decode", "cpu/mmu", "cpu/state",
            "mem", "bus", "arch", "base"],
    "devices": ["mem", "bus", "arch", "base"],
}
ORDER["machine"] = ["cpu", "devices"] + ORDER["cpu"]
ORDER["state"] = ["machine"] + ORDER["machine"]
ORDER["api"] = ["state"] + ORDER["state"]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    parts = rel.split("/")
    if parts[0] == "cpu" and len(parts) > 2:
        return "cpu/" + parts[1]
    if parts[0] == "cpu":
        return "cpu"
    return parts[0]


def main(root):
    root = pathlib.Path(root)
    errors = []
    checked = 0
    for f in sorted((root / "src").rglob("*")):
        if f.suffix not in (".h", ".cpp", ".inc"):
            continue
        rel = f.relative_to(root / "src").as_posix()
        mine = layer_of(rel)
        allowed = set(ORDER.get(mine, [])) | {mine}
        for inc in INCLUDE.findall(f.read_text()):
            checked += 1
            if inc.startswith("vx86/"):
                continue
            target = layer_of(inc)
            if target not in allowed:
                errors.append(f"src/{rel}: includes \"{inc}\" ({mine} may not depend on {target})")
    for base, allowed_prefixes in (("include/vx86", ("vx86/",)), ("tools", ("vx86/",))):
        for f in sorted((root / base).rglob("*")):
            if f.suffix not in (".h", ".cpp"):
                continue
            for inc in INCLUDE.findall(f.read_text()):
                checked += 1
                local = (f.parent / inc).exists()
                if not inc.startswith(allowed_prefixes) and not local:
                    errors.append(f"{f.relative_to(root)}: includes internal header \"{inc}\"")
    for e in errors:
        print(e)
    print(f"layering: {checked} includes checked, {len(errors)} violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
