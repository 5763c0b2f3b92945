"""HSA code objects (EM_AMDGPU ELF, v4/v5/v6): check the target, lay out the image, find the kernels."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pytest_amdgpu.families import GpuTarget
from pytest_amdgpu.program.descriptor import KERNEL_DESCRIPTOR_ALIGN, KERNEL_DESCRIPTOR_SIZE, KernelDescriptor
from pytest_amdgpu.program.elf import ET_DYN, ET_REL, PF_X, PT_LOAD, SHN_ABS, STB_WEAK, ElfFile, Rela, Symbol
from pytest_amdgpu.program.errors import CodeObjectError, RelocationError, UnknownKernelError
from pytest_amdgpu.program.metadata import (
    AMDGPU_NOTE_OWNER,
    NT_AMDGPU_METADATA,
    CodeObjectMetadata,
    KernelMetadata,
    parse_metadata,
)
from pytest_amdgpu.program.target_id import (
    ELFOSABI_AMDGPU_HSA,
    EM_AMDGPU,
    CodeObjectTarget,
    DeviceTargetId,
    check_runs_on,
    code_object_version,
    decode_e_flags,
    isa_family_of,
)

KERNEL_CODE_ALIGN = 256  # kernel entry points are 256-byte aligned

# R_AMDGPU_* relocation types (AMDGPUUsage, "Relocation Records"), by number.
RELOCATION_NAMES = {
    0: "R_AMDGPU_NONE",
    1: "R_AMDGPU_ABS32_LO",
    2: "R_AMDGPU_ABS32_HI",
    3: "R_AMDGPU_ABS64",
    4: "R_AMDGPU_REL32",
    5: "R_AMDGPU_REL64",
    6: "R_AMDGPU_ABS32",
    7: "R_AMDGPU_GOTPCREL",
    8: "R_AMDGPU_GOTPCREL32_LO",
    9: "R_AMDGPU_GOTPCREL32_HI",
    10: "R_AMDGPU_REL32_LO",
    11: "R_AMDGPU_REL32_HI",
    13: "R_AMDGPU_RELATIVE64",
    14: "R_AMDGPU_REL16",
}
R_AMDGPU_NONE = 0
R_AMDGPU_ABS32_LO = 1
R_AMDGPU_ABS32_HI = 2
R_AMDGPU_ABS64 = 3
R_AMDGPU_ABS32 = 6
R_AMDGPU_RELATIVE64 = 13

# Dynamic relocations the loader applies: type -> (width in bytes, value of S (symbol), A (addend), B (base)).
_RELOCATION_RULES: dict[int, tuple[int, Callable[[int, int, int], int]]] = {
    R_AMDGPU_RELATIVE64: (8, lambda symbol, addend, base: base + addend),
    R_AMDGPU_ABS64: (8, lambda symbol, addend, base: symbol + addend),
    R_AMDGPU_ABS32: (4, lambda symbol, addend, base: symbol + addend),
    R_AMDGPU_ABS32_LO: (4, lambda symbol, addend, base: (symbol + addend) & 0xFFFFFFFF),
    R_AMDGPU_ABS32_HI: (4, lambda symbol, addend, base: (symbol + addend) >> 32),
}


@dataclass(frozen=True)
class LoadSegment:
    """One PT_LOAD segment as placed in the image (offsets relative to the load base)."""

    vaddr: int
    memsz: int
    filesz: int
    flags: int  # PF_R | PF_W | PF_X
    align: int

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)


@dataclass(frozen=True)
class KernelInfo:
    """One kernel: its descriptor (decoded), its metadata and where both live in the image."""

    name: str
    symbol: str  # the kernel descriptor symbol, "<name>.kd"
    descriptor_offset: int  # image offset of the 64-byte kernel descriptor
    code_offset: int  # image offset of the first instruction (descriptor + kernel_code_entry_byte_offset)
    descriptor: KernelDescriptor
    metadata: KernelMetadata
    isa_family: str

    @property
    def kernarg_segment_size(self) -> int:
        return self.metadata.kernarg_segment_size

    @property
    def kernarg_segment_align(self) -> int:
        return self.metadata.kernarg_segment_align

    @property
    def wavefront_size(self) -> int:
        return self.descriptor.wavefront_size

    @property
    def group_segment_fixed_size(self) -> int:
        return self.descriptor.group_segment_fixed_size

    @property
    def private_segment_fixed_size(self) -> int:
        return self.descriptor.private_segment_fixed_size

    def descriptor_fields(self) -> dict[str, int]:
        """Every kernel descriptor field of this kernel's ISA family, named as AMDGPUUsage names it."""
        return self.descriptor.fields(self.isa_family)


@dataclass(frozen=True)
class CodeObject:
    """A loaded-but-not-placed code object: the flat image (base 0), its kernels and its relocations.

    The driver uploads ``load(base_va)`` at ``base_va`` (aligned to ``image_align``) and dispatches a kernel
    from ``base_va + kernel.descriptor_offset`` / ``base_va + kernel.code_offset``.
    """

    data: bytes
    target: CodeObjectTarget
    code_object_version: int
    image: bytes  # every PT_LOAD segment at its p_vaddr, zero-filled between and past p_filesz; unrelocated
    image_align: int
    segments: tuple[LoadSegment, ...]
    relocations: tuple[Rela, ...]
    metadata: CodeObjectMetadata
    kernels: Mapping[str, KernelInfo]
    symbols: Mapping[str, Symbol]  # defined symbols by name (.symtab and .dynsym)
    dynamic_symbols: tuple[Symbol, ...]  # .dynsym in index order, what relocations refer to

    @classmethod
    def from_bytes(cls, data: bytes, target: str | GpuTarget | DeviceTargetId | None = None) -> CodeObject:
        """Parse `data`; with `target`, first check that the code object runs on it (TargetMismatchError)."""
        return _load(bytes(data), target, "code object")

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], target: str | GpuTarget | DeviceTargetId | None = None
    ) -> CodeObject:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CodeObjectError(f"cannot read code object {path}: {error.strerror or error}") from error
        return _load(data, target, f"code object {path.name}")

    @property
    def image_size(self) -> int:
        return len(self.image)

    def kernel(self, name: str) -> KernelInfo:
        """The kernel `name` (with or without its ".kd" suffix); UnknownKernelError lists the others."""
        kernel = self.kernels.get(name.removesuffix(".kd") if isinstance(name, str) else name)
        if kernel is None:
            known = ", ".join(sorted(self.kernels)) or "none"
            raise UnknownKernelError(
                f"code object for {self.target.target_id} has no kernel {name!r}; its kernels are: {known}"
            )
        return kernel

    def check_target(self, target: str | GpuTarget | DeviceTargetId) -> None:
        """Raise TargetMismatchError unless this code object runs on `target`."""
        check_runs_on(self.target, target)

    def load(self, base_va: int) -> bytes:
        """The image as it must sit at GPU address `base_va`, with every dynamic relocation applied."""
        if not isinstance(base_va, int) or base_va < 0 or base_va + len(self.image) > 1 << 64:
            raise RelocationError(f"load base {base_va!r} is not a 64-bit address that fits the image")
        if base_va % self.image_align:
            raise RelocationError(
                f"load base {base_va:#x} is not aligned to the image's {self.image_align:#x}-byte "
                "segment alignment"
            )
        image = bytearray(self.image)
        for relocation in self.relocations:
            self._apply(image, relocation, base_va)
        return bytes(image)

    def _apply(self, image: bytearray, relocation: Rela, base_va: int) -> None:
        if relocation.r_type == R_AMDGPU_NONE:
            return
        rule = _RELOCATION_RULES.get(relocation.r_type)
        if rule is None:
            name = RELOCATION_NAMES.get(relocation.r_type, "an unknown relocation type")
            applied = ", ".join(RELOCATION_NAMES[t] for t in _RELOCATION_RULES)
            raise RelocationError(
                f"cannot apply {name} ({relocation.r_type}) at image offset {relocation.r_offset:#x}: "
                f"the loader applies {applied} and R_AMDGPU_NONE"
            )
        width, compute = rule
        if relocation.r_offset + width > len(image):
            raise RelocationError(
                f"{RELOCATION_NAMES[relocation.r_type]} at {relocation.r_offset:#x} lies outside the "
                f"{len(image):#x}-byte image"
            )
        value = compute(self._symbol_address(relocation, base_va), relocation.r_addend, base_va)
        if relocation.r_type == R_AMDGPU_ABS32 and not 0 <= value < 1 << 32:
            raise RelocationError(
                f"R_AMDGPU_ABS32 at {relocation.r_offset:#x}: value {value:#x} does not fit 32 bits "
                "(load the image below 4 GiB or link with 64-bit relocations)"
            )
        image[relocation.r_offset : relocation.r_offset + width] = (value % (1 << (8 * width))).to_bytes(
            width, "little"
        )

    def _symbol_address(self, relocation: Rela, base_va: int) -> int:
        if relocation.r_sym == 0:
            return 0
        dynamic = self.dynamic_symbols
        if relocation.r_sym >= len(dynamic):
            raise RelocationError(
                f"{RELOCATION_NAMES[relocation.r_type]} at {relocation.r_offset:#x} names symbol index "
                f"{relocation.r_sym}, past the {len(dynamic)}-entry dynamic symbol table"
            )
        symbol = dynamic[relocation.r_sym]
        if symbol.st_shndx == SHN_ABS:
            return symbol.st_value
        if not symbol.defined:
            if symbol.binding == STB_WEAK:
                return 0
            where = f"{RELOCATION_NAMES[relocation.r_type]} at {relocation.r_offset:#x}"
            raise RelocationError(
                f"{where} refers to undefined symbol {symbol.name!r}; a code object must be linked "
                "(ld.lld -shared) with everything it uses"
            )
        return base_va + symbol.st_value


def load_code_object(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    target: str | GpuTarget | DeviceTargetId | None = None,
) -> CodeObject:
    """A CodeObject from bytes or a file path; with `target`, a TargetMismatchError unless it runs there."""
    if isinstance(source, bytes | bytearray | memoryview):
        return CodeObject.from_bytes(bytes(source), target)
    return CodeObject.from_file(source, target)


# --- parsing -----------------------------------------------------------------------------------------------


def _check_header(elf: ElfFile) -> tuple[CodeObjectTarget, int]:
    header = elf.header
    if header.e_machine != EM_AMDGPU:
        raise CodeObjectError(
            f"{elf.what} is for ELF machine {header.e_machine}, not EM_AMDGPU ({EM_AMDGPU})"
        )
    if header.ei_osabi != ELFOSABI_AMDGPU_HSA:
        raise CodeObjectError(
            f"{elf.what} has EI_OSABI {header.ei_osabi}, not ELFOSABI_AMDGPU_HSA ({ELFOSABI_AMDGPU_HSA}): "
            "build it for the amdgcn-amd-amdhsa triple"
        )
    try:
        version = code_object_version(header.ei_abiversion)
    except CodeObjectError as error:
        raise CodeObjectError(f"{elf.what}: {error}") from None
    if header.e_type == ET_REL:
        raise CodeObjectError(
            f"{elf.what} is a relocatable object (ET_REL), not a loadable one: link it with ld.lld -shared"
        )
    if header.e_type != ET_DYN:
        raise CodeObjectError(f"{elf.what} has ELF type {header.e_type}; HSA code objects are ET_DYN (3)")
    return decode_e_flags(header.e_flags, header.ei_abiversion), version


def _layout(elf: ElfFile) -> tuple[bytes, int, tuple[LoadSegment, ...]]:
    loads = [p for p in elf.program_headers if p.p_type == PT_LOAD]
    if not loads:
        raise CodeObjectError(f"{elf.what} has no PT_LOAD segment")
    size = max(p.p_vaddr + p.p_memsz for p in loads)
    if size > 1 << 30:
        raise CodeObjectError(f"{elf.what}: its loadable segments span {size:#x} bytes, more than 1 GiB")
    image = bytearray(size)
    segments = []
    for segment in loads:
        if segment.p_filesz > segment.p_memsz:
            raise CodeObjectError(f"{elf.what}: a PT_LOAD segment has p_filesz > p_memsz")
        image[segment.p_vaddr : segment.p_vaddr + segment.p_filesz] = elf.bytes_at(
            segment.p_offset, segment.p_filesz, "PT_LOAD segment"
        )
        segments.append(
            LoadSegment(segment.p_vaddr, segment.p_memsz, segment.p_filesz, segment.p_flags, segment.p_align)
        )
    align = max([KERNEL_CODE_ALIGN] + [p.p_align for p in loads])
    return bytes(image), align, tuple(segments)


def _metadata(elf: ElfFile) -> CodeObjectMetadata:
    notes = [n for n in elf.notes if n.name == AMDGPU_NOTE_OWNER and n.note_type == NT_AMDGPU_METADATA]
    if not notes:
        raise CodeObjectError(
            f'{elf.what} has no NT_AMDGPU_METADATA note (owner "AMDGPU", type {NT_AMDGPU_METADATA})'
        )
    if len(notes) > 1:
        raise CodeObjectError(f"{elf.what} has {len(notes)} NT_AMDGPU_METADATA notes; expected one")
    try:
        return parse_metadata(notes[0].desc)
    except CodeObjectError as error:
        raise CodeObjectError(f"{elf.what}: {error}") from None


def _symbols(elf: ElfFile) -> dict[str, Symbol]:
    symbols: dict[str, Symbol] = {}
    for symbol in elf.static_symbols + elf.dynamic_symbols:  # .dynsym wins where both define a name
        if symbol.name and symbol.defined:
            symbols[symbol.name] = symbol
    return symbols


def _kernels(
    elf: ElfFile,
    image: bytes,
    segments: tuple[LoadSegment, ...],
    metadata: CodeObjectMetadata,
    symbols: Mapping[str, Symbol],
    isa_family: str,
) -> dict[str, KernelInfo]:
    kernels: dict[str, KernelInfo] = {}
    descriptor_symbols = sorted(name for name in symbols if name.endswith(".kd"))
    for name, kernel_metadata in metadata.kernels.items():
        symbol = symbols.get(kernel_metadata.symbol)
        if symbol is None:
            raise CodeObjectError(
                f"{elf.what}: metadata kernel {name!r} names descriptor symbol {kernel_metadata.symbol!r}, "
                "which the symbol tables do not define (descriptor symbols: "
                f"{', '.join(descriptor_symbols) or 'none'})"
            )
        offset = symbol.st_value
        if offset % KERNEL_DESCRIPTOR_ALIGN or offset + KERNEL_DESCRIPTOR_SIZE > len(image):
            raise CodeObjectError(
                f"{elf.what}: kernel descriptor {symbol.name} at {offset:#x} is not a 64-byte aligned "
                "descriptor inside the image"
            )
        descriptor = KernelDescriptor.from_bytes(image[offset : offset + KERNEL_DESCRIPTOR_SIZE])
        code = offset + descriptor.kernel_code_entry_byte_offset
        if code % KERNEL_CODE_ALIGN or not any(
            s.executable and s.vaddr <= code < s.vaddr + s.filesz for s in segments
        ):
            raise CodeObjectError(
                f"{elf.what}: kernel {name!r} enters at {code:#x} (descriptor {offset:#x} + "
                f"{descriptor.kernel_code_entry_byte_offset:#x}), which is not 256-byte aligned code of an "
                "executable segment"
            )
        kernels[name] = KernelInfo(name, symbol.name, offset, code, descriptor, kernel_metadata, isa_family)
    return kernels


def _load(data: bytes, target: str | GpuTarget | DeviceTargetId | None, what: str) -> CodeObject:
    elf = ElfFile(data, what)
    code_target, version = _check_header(elf)
    if target is not None:
        check_runs_on(code_target, target)
    image, align, segments = _layout(elf)
    metadata = _metadata(elf)
    symbols = _symbols(elf)
    kernels = _kernels(elf, image, segments, metadata, symbols, isa_family_of(code_target.processor))
    return CodeObject(
        data=data,
        target=code_target,
        code_object_version=version,
        image=image,
        image_align=align,
        segments=segments,
        relocations=elf.dynamic_relocations(),
        metadata=metadata,
        kernels=kernels,
        symbols=symbols,
        dynamic_symbols=elf.dynamic_symbols,
    )
