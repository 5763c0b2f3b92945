#!/usr/bin/env python3
"""Build the bundled kernels into pytest_amdgpu/kernels/bin/<target>.hsaco for each target LLVM knows.

Each target is built with the LLVM major of LLVM_MAJOR_BY_TARGET (DEFAULT_LLVM_MAJOR otherwise), so a rebuild
with the same Debian packages reproduces the committed bytes:

    llvm-mc-N -triple=amdgcn-amd-amdhsa -mcpu=<target> --filetype=obj <isa family>.s -o kernels.o
    ld.lld-N -shared kernels.o -o linked.hsaco
    llvm-objcopy-N --remove-section=.comment linked.hsaco <target>.hsaco   (drop the linker's version string)

BUILD_INFO (JSON) records, per target, the source and its SHA-256, the LLVM version used and the object's
SHA-256. Targets whose LLVM is not installed are skipped and keep their previous object and BUILD_INFO entry.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(REPO_ROOT))

from pytest_amdgpu.families import GpuTarget, all_targets  # noqa: E402

KERNELS_DIR = REPO_ROOT / "pytest_amdgpu" / "kernels"
BIN_DIR = KERNELS_DIR / "bin"
BUILD_INFO_NAME = "BUILD_INFO"
TRIPLE = "amdgcn-amd-amdhsa"

DEFAULT_LLVM_MAJOR = 19  # Debian bookworm's llvm-19/lld-19 know every registry target but gfx950
LLVM_MAJOR_BY_TARGET = {"gfx950": 22}  # first upstream support in LLVM 20; Debian ships llvm-22


@dataclass(frozen=True)
class Toolchain:
    """The three LLVM tools of one major version, with the exact version they report."""

    major: int
    assembler: str
    linker: str
    objcopy: str
    version: str

    @classmethod
    def find(cls, major: int) -> Toolchain | None:
        paths = [shutil.which(f"{tool}-{major}") for tool in ("llvm-mc", "ld.lld", "llvm-objcopy")]
        if not all(paths):
            return None
        assembler, linker, objcopy = (str(path) for path in paths)
        return cls(major, assembler, linker, objcopy, llvm_version(assembler))


def llvm_version(tool: str) -> str:
    """The "19.1.7" of `tool --version`."""
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"version (\d+\.\d+\.\d+)", output)
    if match is None:
        raise SystemExit(f"cannot read the LLVM version from {tool} --version:\n{output}")
    return match.group(1)


def llvm_major_for(target: GpuTarget) -> int:
    """The LLVM major that builds `target`; the table must not name one older than the target needs."""
    major = LLVM_MAJOR_BY_TARGET.get(target.name, DEFAULT_LLVM_MAJOR)
    if target.llvm_min_version is not None and major < target.llvm_min_version:
        raise SystemExit(
            f"LLVM_MAJOR_BY_TARGET: {target.name} needs LLVM {target.llvm_min_version}, "
            f"the table says {major}"
        )
    return major


def source_for(target: GpuTarget) -> Path:
    return KERNELS_DIR / f"{target.isa_family}.s"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_one(target: GpuTarget, toolchain: Toolchain, output: Path) -> None:
    """Assemble, link and strip the kernels of `target` into `output`."""
    with tempfile.TemporaryDirectory(prefix=f"kernels-{target.name}-") as scratch:
        obj = Path(scratch) / "kernels.o"
        linked = Path(scratch) / "linked.hsaco"
        steps = [
            [
                toolchain.assembler,
                f"-triple={TRIPLE}",
                f"-mcpu={target.llvm_target}",
                "--filetype=obj",
                str(source_for(target)),
                "-o",
                str(obj),
            ],
            [toolchain.linker, "-shared", str(obj), "-o", str(linked)],
            [toolchain.objcopy, "--remove-section=.comment", str(linked), str(output)],
        ]
        for command in steps:
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    output.chmod(0o644)  # package data, not an executable (ld.lld makes its output executable)


def build(out_dir: Path, names: list[str] | None) -> int:
    """Build the selected targets into `out_dir` and update its BUILD_INFO; the number of targets built."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info_path = out_dir / BUILD_INFO_NAME
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    entries = info.setdefault("targets", {})
    targets = [t for t in all_targets() if names is None or t.name in names]
    unknown = sorted(set(names or ()) - {t.name for t in targets})
    if unknown:
        raise SystemExit(
            f"unknown target(s) {', '.join(unknown)}; the registry has "
            f"{', '.join(t.name for t in all_targets())}"
        )
    toolchains: dict[int, Toolchain | None] = {}
    built = 0
    for target in targets:
        major = llvm_major_for(target)
        if major not in toolchains:
            toolchains[major] = Toolchain.find(major)
        toolchain = toolchains[major]
        if toolchain is None:
            print(
                f"skip {target.name}: llvm-mc-{major}, ld.lld-{major} and llvm-objcopy-{major} are not all "
                f"installed (apt-get install llvm-{major} lld-{major})"
            )
            continue
        output = out_dir / f"{target.name}.hsaco"
        build_one(target, toolchain, output)
        entries[target.name] = {
            "source": source_for(target).name,
            "source_sha256": sha256_of(source_for(target)),
            "llvm_major": major,
            "llvm_version": toolchain.version,
            "sha256": sha256_of(output),
        }
        built += 1
        print(f"built {output} with LLVM {toolchain.version}")
    info["format"] = 1
    info["command"] = "python scripts/build_kernels.py"
    info["targets"] = dict(sorted(entries.items()))
    info_path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BIN_DIR, help=f"output directory (default {BIN_DIR})")
    parser.add_argument("--targets", help="comma-separated gfx targets (default: every registry target)")
    parser.add_argument("--list", action="store_true", help="print the target -> LLVM major table and exit")
    options = parser.parse_args(argv)
    if options.list:
        for target in all_targets():
            print(f"{target.name:8} {source_for(target).name:8} llvm-{llvm_major_for(target)}")
        return 0
    names = options.targets.split(",") if options.targets else None
    built = build(options.out, names)
    return 0 if built else 1


if __name__ == "__main__":
    sys.exit(main())
