"""LLVM syntax of vector instructions: VOP1/VOP2/VOPC/VOP3/VOP3P/VOPD, DS, FLAT/GLOBAL/SCRATCH and MUBUF."""

from __future__ import annotations

from pytest_amdgpu.sim.shader import specs
from pytest_amdgpu.sim.shader.opcodes import tables_for
from pytest_amdgpu.sim.shader.syntax_base import Printer, cache_bits, signed, th_text

_OMOD = {1: " mul:2", 2: " mul:4", 3: " div:2"}
_NO_SPEC = specs.ValuSpec(32, (32,), lambda *a: None)


def _valu_spec(name: str) -> specs.ValuSpec:
    spec = specs.VALU.get(name)
    if spec is not None:
        return spec
    bits = 64 if name.endswith(("_f64", "_b64", "_u64", "_i64")) else 32
    return specs.ValuSpec(bits, (bits, bits), lambda *a: None)


def _e32(p: Printer, name: str) -> str:
    tables = tables_for(p.family, p.inst.target)
    if name in tables.no_e32_suffix or specs.VALU.get(name, _NO_SPEC).constant_k:
        return name  # no VOP3 twin, so no encoding suffix
    return f"{name}_e32"


def _vop1(p: Printer, name: str) -> str:
    spec = _valu_spec(name)
    f = p.f
    if name == "v_nop":
        return name
    if spec.kind == "readfirstlane":
        return f"{name} {p.sreg(f['vdst'])}, {p.src(f['src0'])}"
    return f"{_e32(p, name)} {p.vgpr(f['vdst'], spec.dst_bits)}, {p.src(f['src0'], spec.src_bits[0])}"


def _vop2(p: Printer, name: str) -> str:
    spec = _valu_spec(name)
    f = p.f
    dst = p.vgpr(f["vdst"], spec.dst_bits)
    src0 = p.src(f["src0"], spec.src_bits[0])
    src1 = p.vgpr(f["vsrc1"], spec.src_bits[1] if len(spec.src_bits) > 1 else 32)
    if spec.constant_k == "mk":
        return f"{_e32(p, name)} {dst}, {src0}, {p.src(255)}, {src1}"
    if spec.constant_k == "ak":
        return f"{_e32(p, name)} {dst}, {src0}, {src1}, {p.src(255)}"
    operands = [dst]
    if spec.carry_out:
        operands.append(p.mask())
    operands += [src0, src1]
    if spec.mask_in:
        operands.append(p.mask())
    return f"{_e32(p, name)} " + ", ".join(operands)


def _vopc(p: Printer, name: str) -> str:
    spec = _valu_spec(name)
    f = p.f
    sources = f"{p.src(f['src0'], spec.src_bits[0], spec.is_float)}, {p.vgpr(f['vsrc1'], spec.src_bits[1])}"
    if spec.cmpx and p.family != "gfx9":
        return f"{_e32(p, name)} {sources}"
    return f"{_e32(p, name)} {p.mask()}, {sources}"


def _modified(p: Printer, code: int, bits: int, index: int, neg: int, abs_bits: int, is_float: bool) -> str:
    text = p.src(code, bits, is_float)
    is_abs, is_neg = abs_bits >> index & 1, neg >> index & 1
    if is_abs:
        text = f"|{text}|"
    if is_neg:
        constant = not is_abs and not (code < 128 or code >= 256)
        text = f"neg({text})" if constant else f"-{text}"
    return text


def _vop3(p: Printer, name: str) -> str:
    spec = _valu_spec(name)
    f = p.f
    tables = tables_for(p.family, p.inst.target)
    mnemonic = f"{name}_e64" if p.inst.opcode in tables.promoted_vop3 else name
    uses_sdst = spec.carry_out
    abs_bits = 0 if uses_sdst else f["abs"]
    count = 2 if spec.accumulate else len(spec.src_bits)
    sources = [
        _modified(p, f[f"src{i}"], spec.src_bits[i], i, f["neg"], abs_bits, spec.is_float)
        for i in range(count)
    ]
    if spec.kind == "readlane":
        return f"{mnemonic} {p.sreg(f['vdst'])}, {p.src(f['src0'])}, {p.src(f['src1'])}"
    if spec.compare:
        operands = sources if spec.cmpx and p.family != "gfx9" else [p.mask(f["vdst"]), *sources]
    else:
        operands = [p.vgpr(f["vdst"], spec.dst_bits)]
        if uses_sdst:
            operands.append(p.mask(f["sdst"]))
        operands += sources
        if spec.mask_in:
            operands.append(p.mask(f["src2"]))
    text = f"{mnemonic} " + ", ".join(operands)
    if f["clamp"]:
        text += " clamp"
    return text + _OMOD.get(f["omod"], "")


def _vop3p(p: Printer, name: str) -> str:
    spec = _valu_spec(name)
    f = p.f
    count = len(spec.src_bits)
    codes = [f[f"src{i}"] for i in range(count)]
    # packed operands: registers span the whole packed width, constants are per element (32 bits)
    sources = [
        p.src(code, spec.src_bits[i] if code < 128 or code >= 256 else 32) for i, code in enumerate(codes)
    ]
    text = f"{name} {p.vgpr(f['vdst'], spec.dst_bits)}, " + ", ".join(sources)
    opsel = [f["opsel"] >> i & 1 for i in range(count)]
    opsel_hi = [(f["opsel_hi"] | f["opsel_hi2"] << 2) >> i & 1 for i in range(count)]
    if any(opsel):
        text += " op_sel:[" + ",".join(map(str, opsel)) + "]"
    if not all(opsel_hi):
        text += " op_sel_hi:[" + ",".join(map(str, opsel_hi)) + "]"
    for label, bits in (("neg_lo", f["neg"]), ("neg_hi", f["neg_hi"])):
        if bits:
            text += f" {label}:[" + ",".join(str(bits >> i & 1) for i in range(count)) + "]"
    return text + (" clamp" if f["clamp"] else "")


def _vopd_half(p: Printer, name: str, dst: int, src0: int, vsrc1: int) -> str:
    spec = _valu_spec(name)
    first = p.src(src0)
    if name.endswith("mov_b32"):
        return f"{name} v{dst}, {first}"
    if spec.constant_k == "mk":
        return f"{name} v{dst}, {first}, {p.src(255)}, v{vsrc1}"
    if spec.constant_k == "ak":
        return f"{name} v{dst}, {first}, v{vsrc1}, {p.src(255)}"
    return f"{name} v{dst}, {first}, v{vsrc1}"  # VOPD cndmask reads VCC implicitly and does not print it


def vopd_destinations(fields: dict[str, int]) -> tuple[int, int]:
    """VOPD's Y destination stores bits [7:1]; bit 0 is the opposite of the X destination's bit 0."""
    vdst_x = fields["vdstx"]
    return vdst_x, fields["vdsty"] << 1 | ((vdst_x & 1) ^ 1)


def _vopd(p: Printer) -> str:
    name_x, name_y = p.inst.vopd
    f = p.f
    if name_x is None or name_y is None:
        return f".long {p.inst.words[0]:#010x}"
    vdst_x, vdst_y = vopd_destinations(f)
    x = _vopd_half(p, name_x, vdst_x, f["src0x"], f["vsrc1x"])
    y = _vopd_half(p, name_y, vdst_y, f["src0y"], f["vsrc1y"])
    return f"{x} :: {y}"


def _ds(p: Printer, name: str) -> str:
    spec = specs.DS.get(name) or specs.MemSpec("atomic", returns="_rtn_" in name)
    f = p.f
    bits = 32 * spec.dwords
    prefix = "a" if f.get("acc") else "v"
    addr, data0, data1 = p.vgpr(f["addr"]), p.vgpr(f["data0"], bits, prefix), p.vgpr(f["data1"], bits, prefix)
    kind = spec.kind
    if kind == "nop":
        return name
    if kind == "gws":  # wave-level: a data VGPR for some, never an address; GDS is always spelled out
        offset = f["offset1"] << 8 | f["offset0"]
        parts = [name] + ([p.vgpr(f["addr"])] if spec.extra.get("data") else [])  # (in the ADDR field)
        return " ".join(parts) + (f" offset:{offset}" if offset else "") + " gds"
    if kind in ("load", "permute_load"):
        operands = [p.vgpr(f["vdst"], bits, prefix), addr]
    elif kind == "load2":
        operands = [p.vgpr(f["vdst"], 2 * bits, prefix), addr]
    elif kind == "store":
        operands = [addr, data0]
    elif kind == "store2":
        operands = [addr, data0, data1]
    elif kind == "permute":
        operands = [p.vgpr(f["vdst"], 32, prefix), addr, data0]
    elif kind == "swizzle":
        operands = [p.vgpr(f["vdst"], 32, prefix), addr]
    elif kind == "xchg2":
        operands = [p.vgpr(f["vdst"], 2 * bits), addr, data0, data1]
    else:  # atomics
        operands = [addr, data0] + ([data1] if spec.atomic == "cmpswap" else [])
        if spec.returns:
            operands.insert(0, p.vgpr(f["vdst"], bits, prefix))
    text = f"{name} " + ", ".join(operands)
    if kind in ("load2", "store2", "xchg2"):
        if f["offset0"]:
            text += f" offset0:{f['offset0']}"
        if f["offset1"]:
            text += f" offset1:{f['offset1']}"
    else:
        offset = f["offset1"] << 8 | f["offset0"]
        if offset:
            text += f" offset:{offset}"
    has_gds = p.family != "gfx9" or p.inst.target < "gfx90a"
    return text + (" gds" if f.get("gds") and has_gds else "")


def _flat_offset(p: Printer, fmt: str) -> int:
    raw = p.f["offset"]
    if p.family == "gfx12":
        return signed(raw, 24)
    if fmt == "FLAT":
        return raw & (0xFFF if p.family == "gfx10" else 0x1FFF)
    if p.family == "gfx10":
        return signed(raw, 12)
    return signed(raw, 13)


def saddr_is_off(family: str, saddr: int) -> bool:
    """Whether a FLAT-family SADDR field means "no scalar address" (off)."""
    if family == "gfx9":
        return saddr == 0x7F
    if family == "gfx10":
        return saddr in (0x7D, 0x7F)
    return saddr == 0x7C


def _saddr_used(p: Printer) -> bool:
    return not saddr_is_off(p.family, p.f["saddr"])


def scratch_uses_vaddr(family: str, target_is_gfx940: bool, fields: dict[str, int]) -> bool:
    """Whether a SCRATCH instruction takes its per-lane offset from VADDR (else only SADDR/offset)."""
    if family == "gfx9":
        return bool(fields.get("lds")) if target_is_gfx940 else fields["saddr"] == 0x7F
    if family == "gfx10":
        return fields["saddr"] == 0x7D
    return bool(fields.get("sve"))


def _flat(p: Printer, fmt: str, name: str) -> str:
    spec = specs.VMEM.get(name.split("_", 1)[1]) or specs.MemSpec("load")
    f = p.f
    bits = 32 * spec.dwords
    data_bits = bits * (2 if spec.atomic == "cmpswap" else 1)
    saddr_used = _saddr_used(p)
    if fmt == "FLAT":
        where = [p.vgpr(f["addr"], 64)]
    elif fmt == "GLOBAL":
        where = [p.vgpr(f["addr"], 32 if saddr_used else 64), p.sreg(f["saddr"], 64) if saddr_used else "off"]
    else:
        gfx940 = p.cache_syntax == "sc"
        uses_vaddr = scratch_uses_vaddr(p.family, gfx940, f)
        where = [p.vgpr(f["addr"]) if uses_vaddr else "off", p.sreg(f["saddr"]) if saddr_used else "off"]
    returns = spec.kind == "load" or (
        spec.kind == "atomic" and (f.get("th", 0) & 1 if p.family == "gfx12" else f.get("glc", 0))
    )
    prefix = "a" if f.get("acc") else "v"
    to_lds = bool(f.get("lds")) and p.cache_syntax != "sc"  # load straight into LDS
    if to_lds:
        returns = False
    operands = []
    if returns:
        operands.append(p.vgpr(f["vdst"], bits, prefix))
    operands.append(where[0])
    if spec.kind != "load":
        operands.append(p.vgpr(f["data"], data_bits, prefix))
    operands += where[1:]
    text = f"{name} " + ", ".join(operands)
    offset = _flat_offset(p, fmt)
    if offset:
        text += f" offset:{offset}"
    if p.family == "gfx12":
        return text + th_text(p, spec.kind)
    return text + cache_bits(p, ("glc", "slc", "dlc")) + (" lds" if to_lds else "")


def _mubuf(p: Printer, name: str) -> str:
    spec = specs.VMEM.get(name.split("_", 1)[1]) or specs.MemSpec("load")
    f = p.f
    if spec.kind == "cache":
        return name + cache_bits(p, ("glc", "slc", "dlc"))
    bits = 32 * spec.dwords * (2 if spec.atomic == "cmpswap" else 1)
    if f["offen"] and f["idxen"]:
        vaddr = p.vgpr(f["vaddr"], 64)
    elif f["offen"] or f["idxen"]:
        vaddr = p.vgpr(f["vaddr"])
    else:
        vaddr = "off"
    rsrc = f["srsrc"] * (1 if p.family == "gfx12" else 4)
    if f.get("tfe"):
        bits += 32
    prefix = "a" if f.get("acc") else "v"
    soffset = p.src(f["soffset"])
    if f.get("lds"):
        text = f"{name} {vaddr}, {p.sreg(rsrc, 128)}, {soffset}"
    else:
        text = f"{name} {p.vgpr(f['vdata'], bits, prefix)}, {vaddr}, {p.sreg(rsrc, 128)}, {soffset}"
    if f["idxen"]:
        text += " idxen"
    if f["offen"]:
        text += " offen"
    offset = signed(f["offset"], 24) if p.family == "gfx12" else f["offset"]
    if offset:
        text += f" offset:{offset}"
    if p.family == "gfx12":
        return text + th_text(p, spec.kind) + (" tfe" if f.get("tfe") else "")
    return (
        text
        + cache_bits(p, ("glc", "slc", "dlc"))
        + (" lds" if f.get("lds") else "")
        + (" tfe" if f.get("tfe") else "")
    )


def format_vector(p: Printer, fmt: str, name: str) -> str:
    if fmt == "VOP1":
        return _vop1(p, name)
    if fmt == "VOP2":
        return _vop2(p, name)
    if fmt == "VOPC":
        return _vopc(p, name)
    if fmt == "VOP3":
        return _vop3(p, name)
    if fmt == "VOP3P":
        return _vop3p(p, name)
    if fmt == "VOPD":
        return _vopd(p)
    if fmt == "DS":
        return _ds(p, name)
    if fmt in ("FLAT", "GLOBAL", "SCRATCH"):
        return _flat(p, fmt, name)
    if fmt == "MUBUF":
        return _mubuf(p, name)
    return f"{name} <{fmt}>"
