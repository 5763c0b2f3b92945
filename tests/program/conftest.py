"""A tiny writer of AMDGPU ELF code objects, so loader tests can shape every field without LLVM."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import msgpack
import pytest

from pytest_amdgpu.program.descriptor import KernelDescriptor

PAGE = 0x1000
EF_GFX942_ANY = 0x04C | 0x100 | 0x400  # gfx942, xnack any, sramecc any
SHT_STRTAB = 3
SHT_DYNSYM = 11
SHT_NOTE = 7


@dataclass
class KernelSpec:
    """A kernel for the writer: its descriptor (the entry offset is filled in) and code bytes."""

    name: str
    descriptor: KernelDescriptor
    code: bytes = b"\x00\x00\x81\xbf"  # s_endpgm on gfx9


@dataclass
class CodeObjectSpec:
    """Everything the writer can vary; the defaults make a valid gfx942 code object v5 with no kernels."""

    e_flags: int = EF_GFX942_ANY
    abi_version: int = 3  # code object v5
    osabi: int = 64
    machine: int = 224
    e_type: int = 3  # ET_DYN
    ei_class: int = 2
    kernels: list[KernelSpec] = field(default_factory=list)
    metadata: dict | bytes | None = None  # dict: MessagePack-encoded; None: no metadata note
    data: bytes = b""  # contents of a writable data segment
    relocations: list[tuple[int, int, str | None, int]] = field(
        default_factory=list
    )  # data offset, type, sym, A
    extra_symbols: list[tuple[str, int | None]] = field(
        default_factory=list
    )  # name, data offset (None: undef)


def _note(owner: str, note_type: int, desc: bytes) -> bytes:
    name = owner.encode() + b"\0"
    pad = lambda raw: raw + b"\0" * (-len(raw) % 4)  # noqa: E731
    return struct.pack("<III", len(name), len(desc), note_type) + pad(name) + pad(desc)


def build_code_object(spec: CodeObjectSpec) -> bytes:
    """An ET_DYN ELF64 with PT_LOAD segments (R: notes, tables, descriptors; RX: code; RW: data, dynamic)."""
    note = b""
    if spec.metadata is not None:
        desc = spec.metadata if isinstance(spec.metadata, bytes) else msgpack.packb(spec.metadata)
        note = _note("AMDGPU", 32, desc)

    # Dynamic symbols: null, each kernel and its descriptor, the extra ones. Values are filled below.
    names = [""]
    for kernel in spec.kernels:
        names += [kernel.name, f"{kernel.name}.kd"]
    names += [name for name, _ in spec.extra_symbols]
    dynstr = b"\0" + b"".join(name.encode() + b"\0" for name in names[1:])
    name_offsets = {}
    position = 1
    for name in names[1:]:
        name_offsets[name] = position
        position += len(name) + 1

    header_size, phdr_size, phnum = 64, 56, 5
    cursor = header_size + phdr_size * phnum
    note_offset = cursor
    cursor += len(note)
    cursor = -(-cursor // 8) * 8
    dynsym_offset = cursor
    cursor += 24 * len(names)
    dynstr_offset = cursor
    cursor += len(dynstr)
    cursor = -(-cursor // 8) * 8
    rela_offset = cursor
    cursor += 24 * len(spec.relocations)
    cursor = -(-cursor // 64) * 64
    kd_offset = cursor
    cursor += 64 * len(spec.kernels)
    rodata_end = cursor

    text_offset = -(-rodata_end // PAGE) * PAGE
    code_offsets = []
    cursor = text_offset
    for kernel in spec.kernels:
        cursor = -(-cursor // 256) * 256
        code_offsets.append(cursor)
        cursor += len(kernel.code)
    text_end = max(cursor, text_offset + 4)

    data_offset = -(-text_end // PAGE) * PAGE
    dynamic_offset = -(-(data_offset + len(spec.data)) // 8) * 8
    dynamic = struct.pack("<qQ", 6, dynsym_offset) + struct.pack("<qQ", 5, dynstr_offset)
    dynamic += struct.pack("<qQ", 11, 24) + struct.pack("<qQ", 10, len(dynstr))
    if spec.relocations:
        dynamic += struct.pack("<qQ", 7, rela_offset) + struct.pack("<qQ", 8, 24 * len(spec.relocations))
        dynamic += struct.pack("<qQ", 9, 24)
    dynamic += struct.pack("<qQ", 0, 0)
    data_end = dynamic_offset + len(dynamic)

    shstrtab = b"\0.dynsym\0.dynstr\0.shstrtab\0.note\0"
    shstrtab_offset = data_end
    shdr_offset = -(-(shstrtab_offset + len(shstrtab)) // 8) * 8
    image = bytearray(shdr_offset + 64 * 5)

    def put(offset: int, raw: bytes) -> None:
        image[offset : offset + len(raw)] = raw

    ident = b"\x7fELF" + bytes([spec.ei_class, 1, 1, spec.osabi, spec.abi_version]) + bytes(7)
    put(
        0,
        ident
        + struct.pack(
            "<HHIQQQIHHHHHH",
            spec.e_type,
            spec.machine,
            1,
            0,
            header_size,
            shdr_offset,
            spec.e_flags,
            64,
            phdr_size,
            phnum,
            64,
            5,
            3,
        ),
    )
    phdrs = [
        (1, 4, 0, 0, rodata_end, rodata_end, PAGE),  # PT_LOAD R
        (1, 5, text_offset, text_offset, text_end - text_offset, text_end - text_offset, PAGE),  # PT_LOAD RX
        (1, 6, data_offset, data_offset, data_end - data_offset, data_end - data_offset, PAGE),  # PT_LOAD RW
        (2, 6, dynamic_offset, dynamic_offset, len(dynamic), len(dynamic), 8),  # PT_DYNAMIC
        (4, 4, note_offset, note_offset, len(note), len(note), 4),  # PT_NOTE
    ]
    for index, (p_type, flags, offset, vaddr, filesz, memsz, align) in enumerate(phdrs):
        put(
            header_size + index * phdr_size,
            struct.pack("<IIQQQQQQ", p_type, flags, offset, vaddr, vaddr, filesz, memsz, align),
        )
    put(note_offset, note)

    values = {}
    for index, kernel in enumerate(spec.kernels):
        kd = kd_offset + 64 * index
        values[kernel.name] = (code_offsets[index], 2, len(kernel.code), 2)  # value, type FUNC, size, shndx
        values[f"{kernel.name}.kd"] = (kd, 1, 64, 1)  # OBJECT
        descriptor = replace(kernel.descriptor, kernel_code_entry_byte_offset=code_offsets[index] - kd)
        put(kd, descriptor.to_bytes())
        put(code_offsets[index], kernel.code)
    for name, offset in spec.extra_symbols:
        values[name] = (data_offset + offset, 1, 8, 3) if offset is not None else (0, 0, 0, 0)
    for index, name in enumerate(names[1:], start=1):
        value, sym_type, size, shndx = values[name]
        put(
            dynsym_offset + 24 * index,
            struct.pack("<IBBHQQ", name_offsets[name], (1 << 4) | sym_type, 0, shndx, value, size),
        )
    put(dynstr_offset, dynstr)
    for index, (offset, r_type, symbol, addend) in enumerate(spec.relocations):
        sym_index = names.index(symbol) if symbol is not None else 0
        put(
            rela_offset + 24 * index,
            struct.pack("<QQq", data_offset + offset, (sym_index << 32) | r_type, addend),
        )
    put(data_offset, spec.data)
    put(dynamic_offset, dynamic)
    put(shstrtab_offset, shstrtab)
    sections = [
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (1, SHT_DYNSYM, 2, dynsym_offset, dynsym_offset, 24 * len(names), 2, 1, 8, 24),
        (9, SHT_STRTAB, 2, dynstr_offset, dynstr_offset, len(dynstr), 0, 0, 1, 0),
        (17, SHT_STRTAB, 0, 0, shstrtab_offset, len(shstrtab), 0, 0, 1, 0),
        (27, SHT_NOTE, 2, note_offset, note_offset, len(note), 0, 0, 4, 0),
    ]
    for index, section in enumerate(sections):
        put(shdr_offset + 64 * index, struct.pack("<IIQQQQIIQQ", *section))
    return bytes(image)


def kernel_metadata(
    name: str, args: list[dict] | None = None, kernarg_segment_size: int = 256, **extra
) -> dict:
    """One amdhsa.kernels entry with the required keys (MessagePack-ready)."""
    entry = {
        ".name": name,
        ".symbol": f"{name}.kd",
        ".kernarg_segment_size": kernarg_segment_size,
        ".kernarg_segment_align": 8,
        ".group_segment_fixed_size": 0,
        ".private_segment_fixed_size": 0,
        ".wavefront_size": 64,
        ".sgpr_count": 8,
        ".vgpr_count": 4,
        ".max_flat_workgroup_size": 1024,
        ".args": args or [],
    }
    entry.update(extra)
    return entry


def simple_descriptor(kernarg_size: int = 256) -> KernelDescriptor:
    """A descriptor with the kernarg segment pointer and workgroup id x enabled (2 user SGPRs)."""
    return KernelDescriptor(
        group_segment_fixed_size=0,
        private_segment_fixed_size=0,
        kernarg_size=kernarg_size,
        kernel_code_entry_byte_offset=0,
        compute_pgm_rsrc3=0,
        compute_pgm_rsrc1=0x00AC0040,
        compute_pgm_rsrc2=(2 << 1) | (1 << 7),
        kernel_code_properties=1 << 3,
        kernarg_preload=0,
    )


def one_kernel_spec(name: str = "k", **overrides) -> CodeObjectSpec:
    """A valid code object holding one kernel `name` with matching metadata."""
    spec = CodeObjectSpec(
        kernels=[KernelSpec(name, simple_descriptor())],
        metadata={"amdhsa.version": [1, 2], "amdhsa.kernels": [kernel_metadata(name)]},
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


@pytest.fixture
def elf() -> SimpleNamespace:
    """The writer: elf.build(spec), elf.Spec, elf.Kernel, elf.one_kernel(name), elf.kernel_metadata(...)."""
    return SimpleNamespace(
        build=build_code_object,
        Spec=CodeObjectSpec,
        Kernel=KernelSpec,
        one_kernel=one_kernel_spec,
        kernel_metadata=kernel_metadata,
        descriptor=simple_descriptor,
    )
