"""Parse a KFD sysfs topology tree (the kernel's, a captured one, or the simulator's) into typed records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_amdgpu.errors import TopologyError

# io_link "type" values of the kernel's CRAT tables (kfd_crat.h).
IOLINK_TYPE_PCIEXPRESS = 2
IOLINK_TYPE_XGMI = 11

# mem bank "heap_type" values (kfd_topology.h, HSA_MEM_HEAP_TYPE_*).
HEAP_TYPE_SYSTEM = 0
HEAP_TYPE_FB_PUBLIC = 1
HEAP_TYPE_FB_PRIVATE = 2


def _read_properties(path: Path) -> dict[str, int]:
    """Read a sysfs `properties` file of `name value` lines, keeping the kernel's order."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TopologyError(f"cannot read {path}: {exc.strerror}") from exc
    properties: dict[str, int] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise TopologyError(f"{path}:{line_number}: expected 'name value', found {line!r}")
        key, value = parts
        try:
            properties[key] = int(value, 0)
        except ValueError:
            raise TopologyError(
                f"{path}:{line_number}: value of {key!r} is not an integer: {value!r}"
            ) from None
    return properties


def _read_text(path: Path, default: str | None = None) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        if default is not None:
            return default
        raise TopologyError(f"missing topology file {path}") from None
    except OSError as exc:
        raise TopologyError(f"cannot read {path}: {exc.strerror}") from exc


def _numbered_dirs(path: Path) -> list[Path]:
    """Sub-directories named by integers, in numeric order (10 after 2)."""
    if not path.is_dir():
        return []
    numbered = [child for child in path.iterdir() if child.is_dir() and re.fullmatch(r"\d+", child.name)]
    return sorted(numbered, key=lambda child: int(child.name))


class _PropertyRecord:
    """Attribute access to a record's properties: `bank.size_in_bytes` reads `properties['size_in_bytes']`."""

    properties: Mapping[str, int]

    def __getattr__(self, name: str) -> int:
        if name.startswith("_") or name == "properties":
            raise AttributeError(name)
        try:
            return self.properties[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no property {name!r}; it has {', '.join(self.properties)}"
            ) from None


@dataclass(frozen=True)
class MemBank(_PropertyRecord):
    """One `mem_banks/N` entry of a node."""

    index: int
    properties: Mapping[str, int]


@dataclass(frozen=True)
class Cache(_PropertyRecord):
    """One `caches/N` entry of a node; `sibling_map` is kept as text."""

    index: int
    properties: Mapping[str, int]
    sibling_map: str = ""


@dataclass(frozen=True)
class IoLink(_PropertyRecord):
    """One `io_links/N` or `p2p_links/N` entry: a link from `node_from` to `node_to`."""

    index: int
    properties: Mapping[str, int]

    @property
    def is_xgmi(self) -> bool:
        return self.properties.get("type") == IOLINK_TYPE_XGMI


@dataclass(frozen=True)
class Node(_PropertyRecord):
    """One `nodes/N` directory: a CPU node (gpu_id 0) or a GPU node."""

    index: int
    gpu_id: int
    name: str
    properties: Mapping[str, int]
    mem_banks: tuple[MemBank, ...] = ()
    caches: tuple[Cache, ...] = ()
    io_links: tuple[IoLink, ...] = ()
    p2p_links: tuple[IoLink, ...] = ()

    @property
    def is_gpu(self) -> bool:
        return self.gpu_id != 0 and self.properties.get("simd_count", 0) > 0

    @property
    def is_cpu(self) -> bool:
        return self.properties.get("cpu_cores_count", 0) > 0 and not self.is_gpu

    @property
    def gfx_target(self) -> str:
        """The gfx target name derived from gfx_target_version (90402 -> 'gfx942', 90010 -> 'gfx90a')."""
        return gfx_target_name(self.properties.get("gfx_target_version", 0))

    @property
    def compute_units(self) -> int:
        simd_per_cu = self.properties.get("simd_per_cu", 0)
        return self.properties.get("simd_count", 0) // simd_per_cu if simd_per_cu else 0

    @property
    def vram_bytes(self) -> int:
        """Sum of the node's framebuffer banks (public and private)."""
        return sum(
            bank.properties.get("size_in_bytes", 0)
            for bank in self.mem_banks
            if bank.properties.get("heap_type") in (HEAP_TYPE_FB_PUBLIC, HEAP_TYPE_FB_PRIVATE)
        )

    def links_to(self, node_index: int) -> list[IoLink]:
        return [
            link for link in self.io_links + self.p2p_links if link.properties.get("node_to") == node_index
        ]


@dataclass(frozen=True)
class Topology:
    """A whole topology tree: system properties, generation id and nodes in numeric order."""

    root: Path
    generation_id: int
    system_properties: Mapping[str, int]
    nodes: tuple[Node, ...] = field(default_factory=tuple)

    @property
    def gpus(self) -> list[Node]:
        return [node for node in self.nodes if node.is_gpu]

    @property
    def cpus(self) -> list[Node]:
        return [node for node in self.nodes if node.is_cpu]

    def node_by_gpu_id(self, gpu_id: int) -> Node:
        for node in self.nodes:
            if node.gpu_id == gpu_id and node.is_gpu:
                return node
        known = ", ".join(str(node.gpu_id) for node in self.gpus)
        raise TopologyError(f"no GPU node with gpu_id {gpu_id} in {self.root} (GPU ids: {known or 'none'})")


def gfx_target_name(gfx_target_version: int) -> str:
    """'gfx' + major + minor and stepping as hex digits, as the kernel and LLVM spell targets."""
    if gfx_target_version <= 0:
        return ""
    major, rest = divmod(gfx_target_version, 10000)
    minor, stepping = divmod(rest, 100)
    return f"gfx{major}{minor:x}{stepping:x}"


def _parse_links(node_dir: Path, kind: str) -> tuple[IoLink, ...]:
    return tuple(
        IoLink(index=int(link_dir.name), properties=_read_properties(link_dir / "properties"))
        for link_dir in _numbered_dirs(node_dir / kind)
    )


def parse_node(node_dir: Path) -> Node:
    """Parse one `nodes/N` directory."""
    gpu_id_text = _read_text(node_dir / "gpu_id", default="0") or "0"
    try:
        gpu_id = int(gpu_id_text)
    except ValueError:
        raise TopologyError(f"{node_dir / 'gpu_id'}: not an integer: {gpu_id_text!r}") from None
    caches = []
    for cache_dir in _numbered_dirs(node_dir / "caches"):
        properties = {}
        sibling_map = ""
        for line in _read_text(cache_dir / "properties").splitlines():
            key, _, value = line.partition(" ")
            if key == "sibling_map":
                sibling_map = value.strip()
            elif key:
                try:
                    properties[key] = int(value, 0)
                except ValueError:
                    raise TopologyError(
                        f"{cache_dir / 'properties'}: {key} is not an integer: {value!r}"
                    ) from None
        caches.append(Cache(index=int(cache_dir.name), properties=properties, sibling_map=sibling_map))
    return Node(
        index=int(node_dir.name),
        gpu_id=gpu_id,
        name=_read_text(node_dir / "name", default=""),
        properties=_read_properties(node_dir / "properties"),
        mem_banks=tuple(
            MemBank(index=int(bank_dir.name), properties=_read_properties(bank_dir / "properties"))
            for bank_dir in _numbered_dirs(node_dir / "mem_banks")
        ),
        caches=tuple(caches),
        io_links=_parse_links(node_dir, "io_links"),
        p2p_links=_parse_links(node_dir, "p2p_links"),
    )


def parse_topology(root: str | Path) -> Topology:
    """Parse the tree at `root` (the directory that holds `system_properties` and `nodes/`)."""
    root = Path(root)
    if not (root / "nodes").is_dir():
        raise TopologyError(f"{root} is not a KFD topology tree: it has no nodes/ directory")
    generation_text = _read_text(root / "generation_id", default="0") or "0"
    return Topology(
        root=root,
        generation_id=int(generation_text),
        system_properties=_read_properties(root / "system_properties")
        if (root / "system_properties").exists()
        else {},
        nodes=tuple(parse_node(node_dir) for node_dir in _numbered_dirs(root / "nodes")),
    )
