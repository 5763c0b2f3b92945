"""A bounds-checked reader for little-endian ELF64 files: header, segments, sections, symbols, notes, RELA."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

from pytest_amdgpu.program.errors import CodeObjectError

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
EV_CURRENT = 1

ET_REL = 1
ET_EXEC = 2
ET_DYN = 3

PT_LOAD = 1
PT_DYNAMIC = 2
PT_NOTE = 4

PF_X = 1
PF_W = 2
PF_R = 4

SHT_SYMTAB = 2
SHT_NOTE = 7
SHT_DYNSYM = 11

SHN_UNDEF = 0
SHN_ABS = 0xFFF1

STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2

# Dynamic section tags a loader of these objects reads.
DT_NULL = 0
DT_PLTRELSZ = 2
DT_RELA = 7
DT_RELASZ = 8
DT_RELAENT = 9
DT_REL = 17
DT_PLTREL = 20
DT_JMPREL = 23

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_DYN = struct.Struct("<qQ")
_RELA = struct.Struct("<QQq")
_NOTE_HEADER = struct.Struct("<III")


@dataclass(frozen=True)
class ElfHeader:
    """The ELF64 file header, fields named as in the gABI."""

    ei_class: int
    ei_data: int
    ei_version: int
    ei_osabi: int
    ei_abiversion: int
    e_type: int
    e_machine: int
    e_version: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_flags: int
    e_ehsize: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int


@dataclass(frozen=True)
class ProgramHeader:
    """One segment: what a loader maps (PT_LOAD), where the dynamic table is (PT_DYNAMIC), notes (PT_NOTE)."""

    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_paddr: int
    p_filesz: int
    p_memsz: int
    p_align: int


@dataclass(frozen=True)
class SectionHeader:
    """One section, with its name resolved from the section-name string table."""

    name: str
    sh_type: int
    sh_flags: int
    sh_addr: int
    sh_offset: int
    sh_size: int
    sh_link: int
    sh_info: int
    sh_addralign: int
    sh_entsize: int


@dataclass(frozen=True)
class Symbol:
    """One symbol-table entry, with its name resolved."""

    name: str
    st_value: int
    st_size: int
    st_info: int
    st_other: int
    st_shndx: int

    @property
    def binding(self) -> int:
        return self.st_info >> 4

    @property
    def symbol_type(self) -> int:
        return self.st_info & 0xF

    @property
    def defined(self) -> bool:
        return self.st_shndx != SHN_UNDEF


@dataclass(frozen=True)
class Note:
    """One ELF note: owner name (without its NUL), type and descriptor bytes."""

    name: str
    note_type: int
    desc: bytes


@dataclass(frozen=True)
class Rela:
    """One RELA relocation: where (r_offset, a virtual address), what (type), against which symbol, addend."""

    r_offset: int
    r_type: int
    r_sym: int
    r_addend: int


def _align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment if alignment > 1 else value


class ElfFile:
    """Parsed view of an ELF64 little-endian image; every read is bounds-checked (CodeObjectError)."""

    def __init__(self, data: bytes, what: str = "code object") -> None:
        self.data = bytes(data)
        self.what = what
        if len(self.data) < _EHDR.size or self.data[:4] != ELF_MAGIC:
            raise CodeObjectError(f"{what} is not an ELF file (no \\x7fELF magic in the first 4 bytes)")
        ident = self.data[:16]
        if ident[4] != ELFCLASS64:
            raise CodeObjectError(
                f"{what} is ELF class {ident[4]}, not ELFCLASS64 (2): HSA code objects are 64-bit"
            )
        if ident[5] != ELFDATA2LSB:
            raise CodeObjectError(
                f"{what} is ELF data encoding {ident[5]}, not little-endian (ELFDATA2LSB, 1)"
            )
        fields = _EHDR.unpack_from(self.data, 0)
        self.header = ElfHeader(ident[4], ident[5], ident[6], ident[7], ident[8], *fields[1:])
        if self.header.e_phnum and self.header.e_phentsize != _PHDR.size:
            raise CodeObjectError(f"{what}: e_phentsize {self.header.e_phentsize} is not {_PHDR.size}")
        if self.header.e_shnum and self.header.e_shentsize != _SHDR.size:
            raise CodeObjectError(f"{what}: e_shentsize {self.header.e_shentsize} is not {_SHDR.size}")

    # --- raw access ---------------------------------------------------------------------------------------

    def bytes_at(self, offset: int, size: int, what: str) -> bytes:
        """`size` bytes at file `offset`, or a CodeObjectError naming `what` when outside the file."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise CodeObjectError(
                f"{self.what}: {what} at file offset {offset:#x} (+{size:#x} bytes) lies outside the "
                f"{len(self.data):#x}-byte file"
            )
        return self.data[offset : offset + size]

    def _unpack(self, layout: struct.Struct, offset: int, what: str) -> tuple:
        return layout.unpack(self.bytes_at(offset, layout.size, what))

    # --- program headers and sections ---------------------------------------------------------------------

    @cached_property
    def program_headers(self) -> tuple[ProgramHeader, ...]:
        header = self.header
        return tuple(
            ProgramHeader(
                *self._unpack(_PHDR, header.e_phoff + index * _PHDR.size, f"program header {index}")
            )
            for index in range(header.e_phnum)
        )

    @cached_property
    def sections(self) -> tuple[SectionHeader, ...]:
        header = self.header
        raw = [
            self._unpack(_SHDR, header.e_shoff + index * _SHDR.size, f"section header {index}")
            for index in range(header.e_shnum)
        ]
        names = b""
        if raw and header.e_shstrndx < len(raw):
            strtab = raw[header.e_shstrndx]
            names = self.bytes_at(strtab[4], strtab[5], "section name string table")
        return tuple(SectionHeader(_c_string(names, entry[0]), *entry[1:]) for entry in raw)

    def section_data(self, section: SectionHeader) -> bytes:
        return self.bytes_at(section.sh_offset, section.sh_size, f"section {section.name!r}")

    def section_named(self, name: str) -> SectionHeader | None:
        return next((section for section in self.sections if section.name == name), None)

    # --- symbols ------------------------------------------------------------------------------------------

    def symbols_of(self, section: SectionHeader) -> tuple[Symbol, ...]:
        """Every entry of a SHT_SYMTAB or SHT_DYNSYM section, names from its linked string table."""
        if section.sh_link >= len(self.sections):
            raise CodeObjectError(
                f"{self.what}: symbol table {section.name!r} links to a missing string table"
            )
        names = self.section_data(self.sections[section.sh_link])
        data = self.section_data(section)
        count = len(data) // _SYM.size
        symbols = []
        for index in range(count):
            name_offset, info, other, shndx, value, size = _SYM.unpack_from(data, index * _SYM.size)
            symbols.append(Symbol(_c_string(names, name_offset), value, size, info, other, shndx))
        return tuple(symbols)

    @cached_property
    def dynamic_symbols(self) -> tuple[Symbol, ...]:
        """The .dynsym entries (index 0 is the null symbol), or () when the file has none."""
        section = next((s for s in self.sections if s.sh_type == SHT_DYNSYM), None)
        return self.symbols_of(section) if section is not None else ()

    @cached_property
    def static_symbols(self) -> tuple[Symbol, ...]:
        """The .symtab entries, or () for a stripped file."""
        section = next((s for s in self.sections if s.sh_type == SHT_SYMTAB), None)
        return self.symbols_of(section) if section is not None else ()

    # --- notes --------------------------------------------------------------------------------------------

    @cached_property
    def notes(self) -> tuple[Note, ...]:
        """Notes of the PT_NOTE segments, or of SHT_NOTE sections when the file has no PT_NOTE segment."""
        regions = [(p.p_offset, p.p_filesz, p.p_align) for p in self.program_headers if p.p_type == PT_NOTE]
        if not regions:
            regions = [
                (s.sh_offset, s.sh_size, s.sh_addralign) for s in self.sections if s.sh_type == SHT_NOTE
            ]
        notes: list[Note] = []
        for offset, size, align in regions:
            notes.extend(
                self._parse_notes(self.bytes_at(offset, size, "note segment"), 8 if align == 8 else 4)
            )
        return tuple(notes)

    def _parse_notes(self, data: bytes, align: int) -> list[Note]:
        notes = []
        position = 0
        while position + _NOTE_HEADER.size <= len(data):
            namesz, descsz, note_type = _NOTE_HEADER.unpack_from(data, position)
            name_start = position + _NOTE_HEADER.size
            desc_start = name_start + _align_up(namesz, align)
            end = desc_start + _align_up(descsz, align)
            if desc_start + descsz > len(data):
                raise CodeObjectError(
                    f"{self.what}: note at {position:#x} (namesz {namesz}, descsz {descsz}) overruns "
                    "its segment"
                )
            name = data[name_start : name_start + namesz].rstrip(b"\0").decode("utf-8", "replace")
            notes.append(Note(name, note_type, data[desc_start : desc_start + descsz]))
            position = end
        return notes

    # --- dynamic section and relocations ------------------------------------------------------------------

    def file_offset_of(self, vaddr: int, size: int, what: str) -> int:
        """The file offset holding `size` bytes at virtual address `vaddr`, from the PT_LOAD segments."""
        for segment in self.program_headers:
            if (
                segment.p_type == PT_LOAD
                and segment.p_vaddr <= vaddr
                and vaddr + size <= (segment.p_vaddr + segment.p_filesz)
            ):
                return segment.p_offset + (vaddr - segment.p_vaddr)
        raise CodeObjectError(
            f"{self.what}: {what} at address {vaddr:#x} is in no loaded segment's file bytes"
        )

    @cached_property
    def dynamic_entries(self) -> tuple[tuple[int, int], ...]:
        """(d_tag, d_val) pairs of the PT_DYNAMIC segment up to DT_NULL; () when there is none."""
        segment = next((p for p in self.program_headers if p.p_type == PT_DYNAMIC), None)
        if segment is None:
            return ()
        data = self.bytes_at(segment.p_offset, segment.p_filesz, "dynamic segment")
        entries = []
        for position in range(0, len(data) - _DYN.size + 1, _DYN.size):
            tag, value = _DYN.unpack_from(data, position)
            if tag == DT_NULL:
                break
            entries.append((tag, value))
        return tuple(entries)

    def dynamic_relocations(self) -> tuple[Rela, ...]:
        """The RELA relocations the dynamic section lists (DT_RELA, and DT_JMPREL when DT_PLTREL is RELA)."""
        tags: dict[int, int] = {}
        for tag, value in self.dynamic_entries:
            tags.setdefault(tag, value)
        if DT_REL in tags:
            raise CodeObjectError(
                f"{self.what}: has DT_REL relocations; AMDGPU code objects use RELA (DT_RELA) only"
            )
        tables = []
        if DT_RELA in tags:
            entry_size = tags.get(DT_RELAENT, _RELA.size)
            if entry_size != _RELA.size:
                raise CodeObjectError(f"{self.what}: DT_RELAENT is {entry_size}, not {_RELA.size}")
            tables.append((tags[DT_RELA], tags.get(DT_RELASZ, 0), "DT_RELA table"))
        if DT_JMPREL in tags:
            if tags.get(DT_PLTREL, DT_RELA) != DT_RELA:
                raise CodeObjectError(f"{self.what}: DT_JMPREL relocations are not RELA")
            tables.append((tags[DT_JMPREL], tags.get(DT_PLTRELSZ, 0), "DT_JMPREL table"))
        relocations = []
        for vaddr, size, what in tables:
            data = self.bytes_at(self.file_offset_of(vaddr, size, what), size, what)
            for position in range(0, size - _RELA.size + 1, _RELA.size):
                r_offset, r_info, r_addend = _RELA.unpack_from(data, position)
                relocations.append(Rela(r_offset, r_info & 0xFFFFFFFF, r_info >> 32, r_addend))
        return tuple(relocations)


def _c_string(table: bytes, offset: int) -> str:
    if offset >= len(table):
        return ""
    end = table.find(b"\0", offset)
    return table[offset : end if end >= 0 else len(table)].decode("utf-8", "replace")
