"""Oracle for pytest_amdgpu.kfd.abi: gcc reads linux/kfd_ioctl.h and every size, offset and number must agree.

A C probe is generated from the ctypes side (sizeof and alignment of every struct; offset, size and
signedness of every member, nested ones included; every request number; every constant; the
function-like macros on sample inputs), compiled against the kernel header and run. The header is the
installed /usr/include/linux/kfd_ioctl.h unless PYTEST_AMDGPU_KFD_HEADER names another file.

The installed header may be older than the ABI we mirror (Debian 12 ships 1.11; abi.py is 1.18). What
the header declares is compared with gcc exactly; what it does not declare yet is compared with the
hand tables below, whose numbers were worked out by hand from the 1.18 declarations. Where the header
does declare an item of the hand tables, gcc checks the hand value too, so a header of 1.18 verifies
every hand-written number.
"""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_amdgpu.kfd import abi
from pytest_amdgpu.toolchain import missing_tool, require_executable

HEADER_ENV = "PYTEST_AMDGPU_KFD_HEADER"
INSTALLED_HEADER = Path("/usr/include/linux/kfd_ioctl.h")

# The interface version abi.py and the hand tables describe.
ABI_MINOR_VERSION = 18
# The hand tables cover everything added after this version (Debian 12's linux-libc-dev).
HAND_TABLE_BASE_MINOR_VERSION = 11

# Constants whose value is the interface version itself: only a header of exactly our version can judge them.
VERSIONED_CONSTANTS = frozenset({"KFD_IOCTL_MINOR_VERSION", "AMDKFD_COMMAND_END"})

# Members an older header has under a name the 1.18 header no longer uses.
RENAMED_SINCE = {
    ("kfd_ioctl_set_memory_policy_args", "pad"): "renamed misc_process_flag in 1.18",
}

# --------------------------------------------------------------------------------------------------
# Hand tables, from the 1.18 header (worked out by hand from the declarations, not from abi.py)
# --------------------------------------------------------------------------------------------------

# One struct per unindented line: "tag sizeof". Indented lines: "member offset type", type being the C
# scalar type or struct:<bytes> for a struct/union member. Structs the 1.11 header lacks are complete;
# structs it has in an older form list only their sizeof and the members added since.
HAND_LAYOUTS_1_18 = """
kfd_ioctl_create_queue_args 96
    sdma_engine_id 88 __u32
    pad 92 __u32
kfd_ioctl_set_memory_policy_args 32
    misc_process_flag 28 __u32
kfd_hsa_signal_event_data 8
    last_event_age 0 __u64
kfd_event_data 48
    signal_event_data 0 struct:8
kfd_dbg_device_info_entry 120
    exception_status 0 __u64
    lds_base 8 __u64
    lds_limit 16 __u64
    scratch_base 24 __u64
    scratch_limit 32 __u64
    gpuvm_base 40 __u64
    gpuvm_limit 48 __u64
    gpu_id 56 __u32
    location_id 60 __u32
    vendor_id 64 __u32
    device_id 68 __u32
    revision_id 72 __u32
    subsystem_vendor_id 76 __u32
    subsystem_device_id 80 __u32
    fw_version 84 __u32
    gfx_target_version 88 __u32
    simd_count 92 __u32
    max_waves_per_simd 96 __u32
    array_count 100 __u32
    simd_arrays_per_engine 104 __u32
    num_xcc 108 __u32
    capability 112 __u32
    debug_prop 116 __u32
kfd_ioctl_export_dmabuf_args 16
    handle 0 __u64
    flags 8 __u32
    dmabuf_fd 12 __u32
kfd_runtime_info 16
    r_debug 0 __u64
    runtime_state 8 __u32
    ttmp_setup 12 __u32
kfd_ioctl_runtime_enable_args 16
    r_debug 0 __u64
    mode_mask 8 __u32
    capabilities_mask 12 __u32
kfd_queue_snapshot_entry 64
    exception_status 0 __u64
    ring_base_address 8 __u64
    write_pointer_address 16 __u64
    read_pointer_address 24 __u64
    ctx_save_restore_address 32 __u64
    queue_id 40 __u32
    gpu_id 44 __u32
    ring_size 48 __u32
    queue_type 52 __u32
    ctx_save_restore_area_size 56 __u32
    reserved 60 __u32
kfd_context_save_area_header 40
    wave_state 0 struct:16
    wave_state.control_stack_offset 0 __u32
    wave_state.control_stack_size 4 __u32
    wave_state.wave_state_offset 8 __u32
    wave_state.wave_state_size 12 __u32
    debug_offset 16 __u32
    debug_size 20 __u32
    err_payload_addr 24 __u64
    err_event_id 32 __u32
    reserved1 36 __u32
kfd_ioctl_dbg_trap_enable_args 24
    exception_mask 0 __u64
    rinfo_ptr 8 __u64
    rinfo_size 16 __u32
    dbg_fd 20 __u32
kfd_ioctl_dbg_trap_send_runtime_event_args 16
    exception_mask 0 __u64
    gpu_id 8 __u32
    queue_id 12 __u32
kfd_ioctl_dbg_trap_set_exceptions_enabled_args 8
    exception_mask 0 __u64
kfd_ioctl_dbg_trap_set_wave_launch_override_args 16
    override_mode 0 __u32
    enable_mask 4 __u32
    support_request_mask 8 __u32
    pad 12 __u32
kfd_ioctl_dbg_trap_set_wave_launch_mode_args 8
    launch_mode 0 __u32
    pad 4 __u32
kfd_ioctl_dbg_trap_suspend_queues_args 24
    exception_mask 0 __u64
    queue_array_ptr 8 __u64
    num_queues 16 __u32
    grace_period 20 __u32
kfd_ioctl_dbg_trap_resume_queues_args 16
    queue_array_ptr 0 __u64
    num_queues 8 __u32
    pad 12 __u32
kfd_ioctl_dbg_trap_set_node_address_watch_args 24
    address 0 __u64
    mode 8 __u32
    mask 12 __u32
    gpu_id 16 __u32
    id 20 __u32
kfd_ioctl_dbg_trap_clear_node_address_watch_args 8
    gpu_id 0 __u32
    id 4 __u32
kfd_ioctl_dbg_trap_set_flags_args 8
    flags 0 __u32
    pad 4 __u32
kfd_ioctl_dbg_trap_query_debug_event_args 16
    exception_mask 0 __u64
    gpu_id 8 __u32
    queue_id 12 __u32
kfd_ioctl_dbg_trap_query_exception_info_args 24
    info_ptr 0 __u64
    info_size 8 __u32
    source_id 12 __u32
    exception_code 16 __u32
    clear_exception 20 __u32
kfd_ioctl_dbg_trap_queue_snapshot_args 24
    exception_mask 0 __u64
    snapshot_buf_ptr 8 __u64
    num_queues 16 __u32
    entry_size 20 __u32
kfd_ioctl_dbg_trap_device_snapshot_args 24
    exception_mask 0 __u64
    snapshot_buf_ptr 8 __u64
    num_devices 16 __u32
    entry_size 20 __u32
kfd_ioctl_dbg_trap_args 32
    pid 0 __u32
    op 4 __u32
    enable 8 struct:24
    send_runtime_event 8 struct:16
    set_exceptions_enabled 8 struct:8
    launch_override 8 struct:16
    launch_mode 8 struct:8
    suspend_queues 8 struct:24
    resume_queues 8 struct:16
    set_node_address_watch 8 struct:24
    clear_node_address_watch 8 struct:8
    set_flags 8 struct:8
    query_debug_event 8 struct:16
    query_exception_info 8 struct:24
    queue_snapshot 8 struct:24
    device_snapshot 8 struct:24
"""

# Requests whose struct is new or changed since 1.11: _IOC(dir, 'K' = 0x4b, nr, sizeof) packed by hand
# (dir in bits 31:30 with RW = 3, size in bits 29:16, type in 15:8, nr in 7:0).
HAND_REQUESTS_1_18 = {
    "AMDKFD_IOC_CREATE_QUEUE": 0xC0604B02,  # RW, 96 bytes
    "AMDKFD_IOC_SET_MEMORY_POLICY": 0x40204B04,  # W, 32 bytes
    "AMDKFD_IOC_EXPORT_DMABUF": 0xC0104B24,  # RW, 16 bytes
    "AMDKFD_IOC_RUNTIME_ENABLE": 0xC0104B25,  # RW, 16 bytes
    "AMDKFD_IOC_DBG_TRAP": 0xC0204B26,  # RW, 32 bytes
}

HAND_CONSTANTS_1_18 = {
    "KFD_IOCTL_MINOR_VERSION": 18,
    "AMDKFD_COMMAND_END": 0x27,
    "KFD_IOC_QUEUE_TYPE_SDMA_BY_ENG_ID": 0x4,
    "KFD_PROC_FLAG_MFMA_HIGH_PRECISION": 0x1,
    "KFD_IOC_ALLOC_MEM_FLAGS_EXT_COHERENT": 0x01000000,
    "KFD_IOC_ALLOC_MEM_FLAGS_CONTIGUOUS": 0x00800000,
    "KFD_SMI_EVENT_PROCESS_START": 12,
    "KFD_SMI_EVENT_PROCESS_END": 13,
    "KFD_IOCTL_SVM_FLAG_EXT_COHERENT": 0x80,
    "KFD_DBG_TRAP_OVERRIDE_OR": 0,
    "KFD_DBG_TRAP_OVERRIDE_REPLACE": 1,
    "KFD_DBG_TRAP_MASK_FP_INVALID": 0x1,
    "KFD_DBG_TRAP_MASK_FP_INPUT_DENORMAL": 0x2,
    "KFD_DBG_TRAP_MASK_FP_DIVIDE_BY_ZERO": 0x4,
    "KFD_DBG_TRAP_MASK_FP_OVERFLOW": 0x8,
    "KFD_DBG_TRAP_MASK_FP_UNDERFLOW": 0x10,
    "KFD_DBG_TRAP_MASK_FP_INEXACT": 0x20,
    "KFD_DBG_TRAP_MASK_INT_DIVIDE_BY_ZERO": 0x40,
    "KFD_DBG_TRAP_MASK_DBG_ADDRESS_WATCH": 0x80,
    "KFD_DBG_TRAP_MASK_DBG_MEMORY_VIOLATION": 0x100,
    "KFD_DBG_TRAP_MASK_TRAP_ON_WAVE_START": 0x40000000,
    "KFD_DBG_TRAP_MASK_TRAP_ON_WAVE_END": 0x80000000,
    "KFD_DBG_TRAP_WAVE_LAUNCH_MODE_NORMAL": 0,
    "KFD_DBG_TRAP_WAVE_LAUNCH_MODE_HALT": 1,
    "KFD_DBG_TRAP_WAVE_LAUNCH_MODE_DEBUG": 3,
    "KFD_DBG_TRAP_ADDRESS_WATCH_MODE_READ": 0,
    "KFD_DBG_TRAP_ADDRESS_WATCH_MODE_NONREAD": 1,
    "KFD_DBG_TRAP_ADDRESS_WATCH_MODE_ATOMIC": 2,
    "KFD_DBG_TRAP_ADDRESS_WATCH_MODE_ALL": 3,
    "KFD_DBG_TRAP_FLAG_SINGLE_MEM_OP": 1,
    "KFD_DBG_TRAP_FLAG_SINGLE_ALU_OP": 2,
    "EC_NONE": 0,
    "EC_QUEUE_WAVE_ABORT": 1,
    "EC_QUEUE_WAVE_TRAP": 2,
    "EC_QUEUE_WAVE_MATH_ERROR": 3,
    "EC_QUEUE_WAVE_ILLEGAL_INSTRUCTION": 4,
    "EC_QUEUE_WAVE_MEMORY_VIOLATION": 5,
    "EC_QUEUE_WAVE_APERTURE_VIOLATION": 6,
    "EC_QUEUE_PACKET_DISPATCH_DIM_INVALID": 16,
    "EC_QUEUE_PACKET_DISPATCH_GROUP_SEGMENT_SIZE_INVALID": 17,
    "EC_QUEUE_PACKET_DISPATCH_CODE_INVALID": 18,
    "EC_QUEUE_PACKET_RESERVED": 19,
    "EC_QUEUE_PACKET_UNSUPPORTED": 20,
    "EC_QUEUE_PACKET_DISPATCH_WORK_GROUP_SIZE_INVALID": 21,
    "EC_QUEUE_PACKET_DISPATCH_REGISTER_INVALID": 22,
    "EC_QUEUE_PACKET_VENDOR_UNSUPPORTED": 23,
    "EC_QUEUE_PREEMPTION_ERROR": 30,
    "EC_QUEUE_NEW": 31,
    "EC_DEVICE_QUEUE_DELETE": 32,
    "EC_DEVICE_MEMORY_VIOLATION": 33,
    "EC_DEVICE_RAS_ERROR": 34,
    "EC_DEVICE_FATAL_HALT": 35,
    "EC_DEVICE_NEW": 36,
    "EC_PROCESS_RUNTIME": 48,
    "EC_PROCESS_DEVICE_REMOVE": 49,
    "EC_MAX": 50,
    # bit (code - 1) for each code: queue 1-6, 16-23, 30, 31; device 32-36; process 48, 49; packet 16-23
    "KFD_EC_MASK_QUEUE": 0x607F803F,
    "KFD_EC_MASK_DEVICE": 0xF80000000,
    "KFD_EC_MASK_PROCESS": 0x1800000000000,
    "KFD_EC_MASK_PACKET": 0x7F8000,
    "DEBUG_RUNTIME_STATE_DISABLED": 0,
    "DEBUG_RUNTIME_STATE_ENABLED": 1,
    "DEBUG_RUNTIME_STATE_ENABLED_BUSY": 2,
    "DEBUG_RUNTIME_STATE_ENABLED_ERROR": 3,
    "KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK": 1,
    "KFD_RUNTIME_ENABLE_MODE_TTMP_SAVE_MASK": 2,
    "KFD_DBG_QUEUE_ERROR_BIT": 30,
    "KFD_DBG_QUEUE_INVALID_BIT": 31,
    "KFD_DBG_QUEUE_ERROR_MASK": 0x40000000,
    "KFD_DBG_QUEUE_INVALID_MASK": 0x80000000,
    "KFD_IOC_DBG_TRAP_ENABLE": 0,
    "KFD_IOC_DBG_TRAP_DISABLE": 1,
    "KFD_IOC_DBG_TRAP_SEND_RUNTIME_EVENT": 2,
    "KFD_IOC_DBG_TRAP_SET_EXCEPTIONS_ENABLED": 3,
    "KFD_IOC_DBG_TRAP_SET_WAVE_LAUNCH_OVERRIDE": 4,
    "KFD_IOC_DBG_TRAP_SET_WAVE_LAUNCH_MODE": 5,
    "KFD_IOC_DBG_TRAP_SUSPEND_QUEUES": 6,
    "KFD_IOC_DBG_TRAP_RESUME_QUEUES": 7,
    "KFD_IOC_DBG_TRAP_SET_NODE_ADDRESS_WATCH": 8,
    "KFD_IOC_DBG_TRAP_CLEAR_NODE_ADDRESS_WATCH": 9,
    "KFD_IOC_DBG_TRAP_SET_FLAGS": 10,
    "KFD_IOC_DBG_TRAP_QUERY_DEBUG_EVENT": 11,
    "KFD_IOC_DBG_TRAP_QUERY_EXCEPTION_INFO": 12,
    "KFD_IOC_DBG_TRAP_GET_QUEUE_SNAPSHOT": 13,
    "KFD_IOC_DBG_TRAP_GET_DEVICE_SNAPSHOT": 14,
}

# Function-like macros: the inputs gcc evaluates them on, and hand results for headers that lack them.
MACRO_INPUTS = {
    "KFD_SMI_EVENT_MASK_FROM_INDEX": range(1, 65),
    "KFD_EC_MASK": range(1, 65),
    "KFD_DBG_EC_IS_VALID": range(0, 61),
    "KFD_DBG_EC_TYPE_IS_QUEUE": range(0, 61),
    "KFD_DBG_EC_TYPE_IS_DEVICE": range(0, 61),
    "KFD_DBG_EC_TYPE_IS_PROCESS": range(0, 61),
    "KFD_DBG_EC_TYPE_IS_PACKET": range(0, 61),
}
HAND_MACRO_RESULTS_1_18 = {
    "KFD_SMI_EVENT_MASK_FROM_INDEX": {1: 0x1, 13: 0x1000, 64: 0x8000000000000000},
    "KFD_EC_MASK": {1: 0x1, 33: 0x100000000, 49: 0x1000000000000, 64: 0x8000000000000000},
    "KFD_DBG_EC_IS_VALID": {0: 0, 1: 1, 7: 1, 49: 1, 50: 0, 60: 0},
    "KFD_DBG_EC_TYPE_IS_QUEUE": {0: 0, 1: 1, 6: 1, 7: 0, 19: 1, 29: 0, 31: 1, 32: 0},
    "KFD_DBG_EC_TYPE_IS_DEVICE": {31: 0, 32: 1, 33: 1, 36: 1, 37: 0},
    "KFD_DBG_EC_TYPE_IS_PROCESS": {47: 0, 48: 1, 49: 1, 50: 0},
    "KFD_DBG_EC_TYPE_IS_PACKET": {15: 0, 16: 1, 19: 1, 23: 1, 24: 0},
}

# SMI message formats: (macro, ((C argument, Python argument), ...), text the 1.18 format gives).
FORMAT_SAMPLES = [
    ("KFD_EVENT_FMT_UPDATE_GPU_RESET", (("0x2aU", 0x2A), ('"FATAL"', "FATAL")), "2a FATAL\n"),
    (
        "KFD_EVENT_FMT_THERMAL_THROTTLING",
        (("0xdeadbeefcafeULL", 0xDEADBEEFCAFE), ("3ULL", 3)),
        "deadbeefcafe:3\n",
    ),
    ("KFD_EVENT_FMT_VMFAULT", (("0x1234U", 0x1234), ('"python3"', "python3")), "1234:python3\n"),
    (
        "KFD_EVENT_FMT_PAGEFAULT_START",
        (
            ("123456789LL", 123456789),
            ("4242", 4242),
            ("0x7f0000001UL", 0x7F0000001),
            ("0xbeefU", 0xBEEF),
            ("'W'", "W"),
        ),
        "123456789 -4242 @7f0000001(beef) W\n",
    ),
    (
        "KFD_EVENT_FMT_PAGEFAULT_END",
        (("5LL", 5), ("1", 1), ("0x10UL", 0x10), ("0U", 0), ("'M'", "M")),
        "5 -1 @10(0) M\n",
    ),
    (
        "KFD_EVENT_FMT_MIGRATE_START",
        (
            ("99LL", 99),
            ("77", 77),
            ("0x7f000UL", 0x7F000),
            ("0x200UL", 0x200),
            ("0U", 0),
            ("0x1a2bU", 0x1A2B),
            ("0x1a2bU", 0x1A2B),
            ("0U", 0),
            ("1", 1),
        ),
        "99 -77 @7f000(200) 0->1a2b 1a2b:0 1\n",
    ),
    (
        "KFD_EVENT_FMT_MIGRATE_END",
        (
            ("100LL", 100),
            ("77", 77),
            ("0x7f000UL", 0x7F000),
            ("0x200UL", 0x200),
            ("0U", 0),
            ("0x1a2bU", 0x1A2B),
            ("1", 1),
            ("-14", -14),
        ),
        "100 -77 @7f000(200) 0->1a2b 1 -14\n",
    ),
    ("KFD_EVENT_FMT_QUEUE_EVICTION", (("7LL", 7), ("8", 8), ("0xcU", 0xC), ("2", 2)), "7 -8 c 2\n"),
    ("KFD_EVENT_FMT_QUEUE_RESTORE", (("9LL", 9), ("10", 10), ("0xaU", 0xA), ("'R'", "R")), "9 -10 a R\n"),
    (
        "KFD_EVENT_FMT_UNMAP_FROM_GPU",
        (("11LL", 11), ("12", 12), ("0xfffUL", 0xFFF), ("1UL", 1), ("0xdU", 0xD), ("0", 0)),
        "11 -12 @fff(1) d 0\n",
    ),
    ("KFD_EVENT_FMT_PROCESS", (("0xffU", 0xFF), ('"bash"', "bash")), "ff bash\n"),
    ("KFD_EVENT_FMT_PROCESS", (("-1", -1), ('"x"', "x")), "ffffffff x\n"),
]

# asm-generic/ioctl.h names abi.py re-states; linux/ioctl.h always brings them in.
IOC_CONSTANT_NAMES = (
    "_IOC_NRBITS",
    "_IOC_TYPEBITS",
    "_IOC_SIZEBITS",
    "_IOC_DIRBITS",
    "_IOC_NRMASK",
    "_IOC_TYPEMASK",
    "_IOC_SIZEMASK",
    "_IOC_DIRMASK",
    "_IOC_NRSHIFT",
    "_IOC_TYPESHIFT",
    "_IOC_SIZESHIFT",
    "_IOC_DIRSHIFT",
    "_IOC_NONE",
    "_IOC_WRITE",
    "_IOC_READ",
)

C_SCALAR_TYPES = {"__u32": (4, False), "__u64": (8, False), "__s32": (4, True)}


# --------------------------------------------------------------------------------------------------
# The ctypes side, walked the way C names members
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One member of an ABI struct, named by its C designator (anonymous unions add no path element)."""

    struct: str
    path: str
    offset: int
    size: int | None  # None for a flexible array member, which C cannot take the size of
    signed: bool | None  # None for struct and union members
    scalar_array: bool = False


def _element_type(ctype: type) -> type:
    while issubclass(ctype, ctypes.Array):
        ctype = ctype._type_
    return ctype


def abi_members(struct: type, prefix: str = "", base: int = 0, tag: str | None = None) -> list[Member]:
    """Every member C can name: tagged struct members as one entry, untagged ones also member by member."""
    tag = tag or struct.__name__
    tagged = set(abi.STRUCTS)
    anonymous = set(getattr(struct, "_anonymous_", ()))
    members: list[Member] = []
    for name, ctype, *_ in struct._fields_:
        descriptor = getattr(struct, name)
        offset = base + descriptor.offset
        if name in anonymous:
            members += abi_members(ctype, prefix, offset, tag)
            continue
        element = _element_type(ctype)
        flexible = issubclass(ctype, ctypes.Array) and ctype._length_ == 0
        size = None if flexible else descriptor.size
        if issubclass(element, (ctypes.Structure, ctypes.Union)):
            members.append(Member(tag, prefix + name, offset, size, None))
            if element not in tagged and element is ctype:
                members += abi_members(ctype, f"{prefix}{name}.", offset, tag)
        else:
            signed = element(-1).value < 0
            members.append(Member(tag, prefix + name, offset, size, signed, element is not ctype))
    return members


# --------------------------------------------------------------------------------------------------
# The header side: which structs, members, constants and macros it declares
# --------------------------------------------------------------------------------------------------


@dataclass
class HeaderFacts:
    path: Path
    minor_version: int | None
    defines: set[str]
    function_macros: set[str]
    enumerators: set[str]
    structs: dict[str, list[str]]

    def has_constant(self, name: str) -> bool:
        return name in self.defines or name in self.enumerators


_TOKEN = re.compile(r"[A-Za-z_]\w*|\d\w*|\S")


def parse_header(path: Path) -> HeaderFacts:
    """Names the header declares; only names, since every value comes from gcc."""
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = text.replace("\\\n", " ")
    defines, function_macros = set(), set()
    for match in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)(\()?", text, flags=re.M):
        (function_macros if match.group(2) else defines).add(match.group(1))
    minor = re.search(r"^[ \t]*#[ \t]*define[ \t]+KFD_IOCTL_MINOR_VERSION[ \t]+(\d+)", text, flags=re.M)
    code = re.sub(r"^[ \t]*#[^\n]*", " ", text, flags=re.M)
    tokens = _TOKEN.findall(code)
    structs: dict[str, list[str]] = {}
    enumerators: set[str] = set()
    i = 0
    while i < len(tokens):
        if tokens[i] == "struct" and i + 2 < len(tokens) and tokens[i + 2] == "{":
            structs[tokens[i + 1]], i = _parse_members(tokens, i + 3)
        elif tokens[i] == "enum" and "{" in tokens[i + 1 : i + 3]:
            i = tokens.index("{", i) + 1
            depth, expect_name = 0, True
            while depth or tokens[i] != "}":
                token = tokens[i]
                if expect_name and re.fullmatch(r"[A-Za-z_]\w*", token):
                    enumerators.add(token)
                    expect_name = False
                elif token == "(":
                    depth += 1
                elif token == ")":
                    depth -= 1
                elif token == "," and not depth:
                    expect_name = True
                i += 1
            i += 1
        else:
            i += 1
    return HeaderFacts(
        path, int(minor.group(1)) if minor else None, defines, function_macros, enumerators, structs
    )


def _parse_members(tokens: list[str], i: int) -> tuple[list[str], int]:
    """Member designators of the struct/union body at tokens[i]; also returns the index after its '}'."""
    paths: list[str] = []
    while tokens[i] != "}":
        if tokens[i] in ("struct", "union") and "{" in tokens[i + 1 : i + 3]:
            inner, i = _parse_members(tokens, tokens.index("{", i) + 1)
            if tokens[i] == ";":
                paths += inner
            else:
                name = tokens[i]
                paths += [name] + [f"{name}.{path}" for path in inner]
                i = tokens.index(";", i)
            i += 1
            continue
        declaration: list[str] = []
        while tokens[i] != ";":
            declaration.append(tokens[i])
            i += 1
        i += 1
        depth, last_name = 0, None
        for token in [*declaration, ","]:
            if token == "[":
                depth += 1
            elif token == "]":
                depth -= 1
            elif token in (",", ":") and not depth:
                if last_name:
                    paths.append(last_name)
                last_name = None
            elif not depth and re.fullmatch(r"[A-Za-z_]\w*", token):
                last_name = token
    return paths, i + 1


def parse_hand_layouts(text: str) -> dict[str, tuple[int, dict[str, tuple[int, int, bool | None]]]]:
    """tag -> (sizeof, {member: (offset, size, signed or None)}) from the hand table's text."""
    layouts: dict[str, tuple[int, dict[str, tuple[int, int, bool | None]]]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            tag, size = line.split()
            current = layouts[tag] = (int(size), {})
            continue
        path, offset, c_type = line.split()
        if c_type.startswith("struct:"):
            size_bytes, signed = int(c_type.split(":")[1]), None
        else:
            size_bytes, signed = C_SCALAR_TYPES[c_type]
        assert current is not None
        current[1][path] = (int(offset), size_bytes, signed)
    return layouts


HAND_LAYOUTS = parse_hand_layouts(HAND_LAYOUTS_1_18)


# --------------------------------------------------------------------------------------------------
# The comparison plan: every ABI fact goes to gcc or to the hand tables
# --------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    header: HeaderFacts
    # (category, C expression, what abi.py says, label)
    c_checks: list[tuple[str, str, int | str, str]] = field(default_factory=list)
    hand_mismatches: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    unchecked: list[str] = field(default_factory=list)
    header_only: list[str] = field(default_factory=list)
    stale_hand_entries: list[str] = field(default_factory=list)

    @property
    def header_not_newer(self) -> bool:
        """Whether everything the header declares should be in abi.py (a newer header may have more)."""
        minor = self.header.minor_version
        return minor is not None and minor <= ABI_MINOR_VERSION

    def count(self, category: str, oracle: str) -> None:
        self.counts[(category, oracle)] = self.counts.get((category, oracle), 0) + 1

    def to_gcc(self, category: str, expression: str, expected: int | str, label: str = "") -> None:
        self.c_checks.append((category, expression, expected, label or expression))

    def to_hand(self, category: str, label: str, ours: object, hand: object) -> None:
        if ours != hand:
            self.hand_mismatches.setdefault(category, []).append(
                f"{label}: abi.py says {_show(ours)}, the 1.18 hand table says {_show(hand)}"
            )


def _show(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value} ({value:#x})" if value > 9 else str(value)
    return repr(value)


def _member_c(struct: str, path: str) -> str:
    return f"((struct {struct} *)0)->{path}"


def build_plan(header: HeaderFacts) -> Plan:
    plan = Plan(header)
    same_declaration = _plan_structs(plan)
    _plan_requests(plan, same_declaration)
    _plan_constants(plan)
    _plan_macros(plan)
    return plan


def _plan_structs(plan: Plan) -> dict[str, bool]:
    """Sizes, alignments and members; returns which structs the header declares exactly as abi.py does."""
    header = plan.header
    same_declaration: dict[str, bool] = {}
    for struct in abi.STRUCTS:
        tag = struct.__name__
        members = abi_members(struct)
        our_paths = {member.path for member in members}
        header_paths = header.structs.get(tag)
        hand_size, hand_members = HAND_LAYOUTS.get(tag, (None, {}))
        same = same_declaration[tag] = header_paths is not None and set(header_paths) == our_paths
        if same:
            plan.count("structs", "gcc")
            plan.to_gcc("structs", f"sizeof(struct {tag})", ctypes.sizeof(struct))
            plan.to_gcc("structs", f"_Alignof(struct {tag})", ctypes.alignment(struct))
            if hand_size is not None:
                plan.to_gcc("hand table", f"sizeof(struct {tag})", hand_size, f"hand sizeof({tag})")
        elif hand_size is not None:
            plan.count("structs", "hand")
            plan.to_hand("structs", f"sizeof(struct {tag})", ctypes.sizeof(struct), hand_size)
        else:
            plan.unchecked.append(f"sizeof(struct {tag})")
        for member in members:
            label = f"{tag}.{member.path}"
            hand = hand_members.get(member.path)
            if header_paths is not None and member.path in header_paths:
                plan.count("members", "gcc")
                _member_to_gcc(plan, "members", member, member.offset, member.size, member.signed, label)
                if hand is not None:
                    _member_to_gcc(plan, "hand table", member, *hand, f"hand {label}")
            elif hand is not None:
                plan.count("members", "hand")
                offset, size, signed = hand
                plan.to_hand("members", f"{label} offset", member.offset, offset)
                plan.to_hand("members", f"{label} size", member.size, size)
                plan.to_hand("members", f"{label} signed", member.signed, signed)
            else:
                plan.unchecked.append(label)
        if plan.header_not_newer:
            plan.header_only += [
                f"member {tag}.{path}"
                for path in header_paths or ()
                if path not in our_paths and (tag, path) not in RENAMED_SINCE
            ]
        plan.stale_hand_entries += [f"member {tag}.{path}" for path in sorted(set(hand_members) - our_paths)]
    if plan.header_not_newer:
        plan.header_only += [f"struct {tag}" for tag in sorted(set(header.structs) - set(same_declaration))]
    plan.stale_hand_entries += [f"struct {tag}" for tag in HAND_LAYOUTS if tag not in same_declaration]
    return same_declaration


def _member_to_gcc(
    plan: Plan, category: str, member: Member, offset: int, size: int | None, signed: bool | None, label: str
) -> None:
    designator = _member_c(member.struct, member.path)
    plan.to_gcc(category, f"offsetof(struct {member.struct}, {member.path})", offset, f"{label} offset")
    if size is not None and member.size is not None:
        plan.to_gcc(category, f"sizeof({designator})", size, f"{label} size")
    if signed is not None and member.signed is not None:
        element = designator + ("[0]" if member.scalar_array else "")
        plan.to_gcc(category, f"(__typeof__({element}))-1 < 0", int(signed), f"{label} signed")


def _plan_requests(plan: Plan, same_declaration: dict[str, bool]) -> None:
    """Request numbers: gcc judges the whole number only where it also sees the same argument struct."""
    header = plan.header
    for info in abi.IOCTLS.values():
        name = info.name
        if name in header.defines:
            plan.to_gcc("requests", f"_IOC_NR({name})", info.nr)
            plan.to_gcc("requests", f"_IOC_DIR({name})", info.direction)
            plan.to_gcc("requests", f"_IOC_TYPE({name})", abi.AMDKFD_IOCTL_BASE)
        hand = HAND_REQUESTS_1_18.get(name)
        if name in header.defines and same_declaration[info.struct.__name__]:
            plan.count("requests", "gcc")
            plan.to_gcc("requests", f"BITS_OF({name})", info.request, name)
            if hand is not None:
                plan.to_gcc("hand table", f"BITS_OF({name})", hand, f"hand {name}")
        elif hand is not None:
            plan.count("requests", "hand")
            plan.to_hand("requests", name, info.request, hand)
        else:
            plan.unchecked.append(name)
    ours = {info.name for info in abi.IOCTLS.values()}
    if plan.header_not_newer:
        plan.header_only += sorted(n for n in header.defines if n.startswith("AMDKFD_IOC_") and n not in ours)
    plan.stale_hand_entries += [name for name in HAND_REQUESTS_1_18 if name not in ours]


def _plan_constants(plan: Plan) -> None:
    header = plan.header
    same_version = header.minor_version == ABI_MINOR_VERSION
    for name, value in abi.CONSTANTS.items():
        hand = HAND_CONSTANTS_1_18.get(name)
        if header.has_constant(name) and (same_version or name not in VERSIONED_CONSTANTS):
            plan.count("constants", "gcc")
            plan.to_gcc("constants", f"BITS_OF({name})", value, name)
            if hand is not None:
                plan.to_gcc("hand table", f"BITS_OF({name})", hand, f"hand {name}")
        elif hand is not None:
            plan.count("constants", "hand")
            plan.to_hand("constants", name, value, hand)
        else:
            plan.unchecked.append(name)
    for name in IOC_CONSTANT_NAMES:
        plan.count("constants", "gcc")
        plan.to_gcc("constants", f"BITS_OF({name})", getattr(abi, name), name)
    if plan.header_not_newer:
        plan.header_only += sorted(
            name
            for name in header.defines | header.enumerators
            if not name.startswith("AMDKFD_IOC_")
            and name != "KFD_IOCTL_H_INCLUDED"
            and name not in abi.CONSTANTS
        )
    plan.stale_hand_entries += [name for name in HAND_CONSTANTS_1_18 if name not in abi.CONSTANTS]


def _plan_macros(plan: Plan) -> None:
    header = plan.header
    for macro, inputs in MACRO_INPUTS.items():
        function = getattr(abi, macro)
        hand_results = HAND_MACRO_RESULTS_1_18[macro]
        if macro in header.function_macros:
            plan.count("macros", "gcc")
            for argument in inputs:
                plan.to_gcc("macros", f"(unsigned long long)({macro}({argument}))", int(function(argument)))
            for argument, result in hand_results.items():
                expression = f"(unsigned long long)({macro}({argument}))"
                plan.to_gcc("hand table", expression, result, f"hand {macro}({argument})")
        else:
            plan.count("macros", "hand")
            for argument, result in hand_results.items():
                plan.to_hand("macros", f"{macro}({argument})", int(function(argument)), result)
    for macro, arguments, text in FORMAT_SAMPLES:
        ours = getattr(abi, macro)(*(python for _, python in arguments))
        call = f"{macro}({', '.join(c for c, _ in arguments)})"
        if macro in header.function_macros:
            plan.count("formats", "gcc")
            plan.to_gcc("formats", call, ours)
            plan.to_gcc("hand table", call, text, f"hand {call}")
        else:
            plan.count("formats", "hand")
            plan.to_hand("formats", call, ours, text)
    if plan.header_not_newer:
        ours = {name for name in dir(abi) if callable(getattr(abi, name))}
        plan.header_only += sorted(f"macro {name}()" for name in header.function_macros - ours)


# --------------------------------------------------------------------------------------------------
# Compiling and running the probe
# --------------------------------------------------------------------------------------------------

PROBE_PRELUDE = """\
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include "{header}"

/* The value's bits in the width of its own C type: (1 << 31) and 0x80000000U both give 0x80000000. */
#define BITS_OF(x) ((unsigned long long)(x) & (~0ULL >> (64 - 8 * sizeof(x))))

static void put_number(int index, unsigned long long value) {{ printf("%d n %llu\\n", index, value); }}

static void put_text(int index, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void put_text(int index, const char *format, ...)
{{
\tchar text[256];
\tva_list args;
\tva_start(args, format);
\tvsnprintf(text, sizeof text, format, args);
\tva_end(args);
\tprintf("%d t ", index);
\tfor (const char *c = text; *c; ++c)
\t\tprintf("%02x", (unsigned char)*c);
\tprintf("\\n");
}}

int main(void)
{{
"""


def probe_source(plan: Plan) -> str:
    lines = [PROBE_PRELUDE.format(header=plan.header.path)]
    for index, (_, expression, expected, _) in enumerate(plan.c_checks):
        if isinstance(expected, str):
            lines.append(f"\tput_text({index}, {expression});\n")
        else:
            lines.append(f"\tput_number({index}, (unsigned long long)({expression}));\n")
    lines.append("\treturn 0;\n}\n")
    return "".join(lines)


@dataclass
class OracleRun:
    plan: Plan
    gcc_mismatches: dict[str, list[str]]
    probe_path: Path


def run_probe(plan: Plan, workdir: Path) -> OracleRun:
    shim = workdir / "shim" / "drm"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "drm.h").write_text("#include <linux/types.h>\n#include <linux/ioctl.h>\n")
    source = workdir / "kfd_abi_probe.c"
    source.write_text(probe_source(plan))
    binary = workdir / "kfd_abi_probe"
    compiled = subprocess.run(
        ["gcc", "-std=gnu11", "-Wall", "-I", str(workdir / "shim"), "-o", str(binary), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if compiled.returncode != 0:
        pytest.fail(
            f"the ABI probe does not compile against {plan.header.path} (probe kept at {source}); a member, "
            f"constant or request that abi.py names is missing or has another kind there:\n{compiled.stderr}",
            pytrace=False,
        )
    ran = subprocess.run([str(binary)], capture_output=True, text=True, check=True)
    gcc_mismatches: dict[str, list[str]] = {}
    seen = 0
    for line in ran.stdout.splitlines():
        index_text, kind, raw = line.split(" ", 2)
        category, _, expected, label = plan.c_checks[int(index_text)]
        actual: int | str = int(raw) if kind == "n" else bytes.fromhex(raw).decode()
        seen += 1
        if actual != expected:
            source = "the hand table" if category == "hand table" else "abi.py"
            gcc_mismatches.setdefault(category, []).append(
                f"{label}: {source} says {_show(expected)}, gcc says {_show(actual)}"
            )
    assert seen == len(plan.c_checks), f"probe printed {seen} of {len(plan.c_checks)} results"
    return OracleRun(plan, gcc_mismatches, source)


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> OracleRun:
    chosen = os.environ.get(HEADER_ENV)
    if chosen:
        header_path = Path(chosen)
        if not header_path.is_file():
            pytest.fail(f"{HEADER_ENV}={chosen} does not name a readable file", pytrace=False)
    else:
        header_path = INSTALLED_HEADER
        if not header_path.is_file():
            missing_tool(
                f"{INSTALLED_HEADER} is missing (Debian/Ubuntu: apt install linux-libc-dev), "
                f"or point {HEADER_ENV} at a kfd_ioctl.h"
            )
    require_executable("gcc", "the KFD ABI oracle compiles a C probe against kfd_ioctl.h")
    plan = build_plan(parse_header(header_path))
    return run_probe(plan, tmp_path_factory.mktemp("kfd_abi_oracle"))


def _fail_if_any(run: OracleRun, problems: list[str], what: str) -> None:
    if problems:
        header = run.plan.header
        pytest.fail(
            f"{len(problems)} {what} (header {header.path}, interface 1.{header.minor_version}; "
            f"probe {run.probe_path}):\n  " + "\n  ".join(problems),
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------------


def test_struct_sizes_and_alignments_match_gcc(oracle: OracleRun) -> None:
    _fail_if_any(oracle, oracle.gcc_mismatches.get("structs", []), "struct sizes/alignments differ from gcc")


def test_member_offsets_sizes_and_signedness_match_gcc(oracle: OracleRun) -> None:
    _fail_if_any(oracle, oracle.gcc_mismatches.get("members", []), "struct members differ from gcc")


def test_request_numbers_match_gcc(oracle: OracleRun) -> None:
    _fail_if_any(oracle, oracle.gcc_mismatches.get("requests", []), "request numbers differ from gcc")


def test_constants_match_gcc(oracle: OracleRun) -> None:
    _fail_if_any(oracle, oracle.gcc_mismatches.get("constants", []), "constants differ from gcc")


def test_function_macros_match_gcc(oracle: OracleRun) -> None:
    problems = oracle.gcc_mismatches.get("macros", []) + oracle.gcc_mismatches.get("formats", [])
    _fail_if_any(oracle, problems, "macro results differ from gcc")


def test_items_newer_than_the_header_match_the_hand_table(oracle: OracleRun) -> None:
    problems = [line for lines in oracle.plan.hand_mismatches.values() for line in lines]
    _fail_if_any(oracle, problems, "ABI items differ from the 1.18 hand table")


def test_hand_table_agrees_with_gcc_where_the_header_declares_it(oracle: OracleRun) -> None:
    _fail_if_any(oracle, oracle.gcc_mismatches.get("hand table", []), "hand-table numbers differ from gcc")


def test_hand_table_names_only_what_the_abi_defines(oracle: OracleRun) -> None:
    _fail_if_any(oracle, oracle.plan.stale_hand_entries, "hand-table entries name nothing in abi.py")


def test_every_abi_item_has_an_oracle(oracle: OracleRun) -> None:
    minor = oracle.plan.header.minor_version
    if minor is None or not HAND_TABLE_BASE_MINOR_VERSION <= minor <= ABI_MINOR_VERSION:
        pytest.skip(
            f"the hand tables cover interface 1.{HAND_TABLE_BASE_MINOR_VERSION}..1.{ABI_MINOR_VERSION}; "
            f"this header is 1.{minor}: set {HEADER_ENV} to a 1.{ABI_MINOR_VERSION} kfd_ioctl.h"
        )
    problems = [
        f"{item}: not in {oracle.plan.header.path} and not in the hand table (add its 1.18 value)"
        for item in oracle.plan.unchecked
    ]
    _fail_if_any(oracle, problems, "ABI items have no oracle")


def test_abi_has_everything_the_header_declares(oracle: OracleRun) -> None:
    problems = [f"{item} is in the header but not in abi.py" for item in oracle.plan.header_only]
    _fail_if_any(oracle, problems, "header items are missing from abi.py")
