"""The KFD user-space ABI (Linux include/uapi/linux/kfd_ioctl.h, interface 1.18) as ctypes data."""

# Struct classes and macro helpers are spelled exactly as in the C header (kfd_event_data, KFD_EC_MASK, _IOR)
# so that one grep finds the kernel's definition, this module, and every user of it.

from __future__ import annotations

import ctypes
import dataclasses
import re
from collections.abc import Callable

from pytest_amdgpu.errors import ConfigurationError

u32 = ctypes.c_uint32
u64 = ctypes.c_uint64
s32 = ctypes.c_int32


class KfdStruct(ctypes.Structure):
    """Base of every KFD argument struct: ctypes layout plus a readable repr for logs and dumps."""

    def __repr__(self) -> str:
        parts = []
        for name, *_ in self._fields_:
            if name in getattr(self, "_anonymous_", ()):
                continue
            value = getattr(self, name)
            parts.append(f"{name}={value:#x}" if isinstance(value, int) else f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


# --------------------------------------------------------------------------------------------------
# Request-number encoding, as include/uapi/asm-generic/ioctl.h lays it out (x86_64, arm64, riscv64).
# --------------------------------------------------------------------------------------------------

_IOC_NRBITS = 8
_IOC_TYPEBITS = 8
_IOC_SIZEBITS = 14
_IOC_DIRBITS = 2

_IOC_NRMASK = (1 << _IOC_NRBITS) - 1
_IOC_TYPEMASK = (1 << _IOC_TYPEBITS) - 1
_IOC_SIZEMASK = (1 << _IOC_SIZEBITS) - 1
_IOC_DIRMASK = (1 << _IOC_DIRBITS) - 1

_IOC_NRSHIFT = 0
_IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS
_IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS
_IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS

_IOC_NONE = 0
_IOC_WRITE = 1
_IOC_READ = 2


def _IOC(direction: int, ioc_type: int, nr: int, size: int) -> int:
    """Pack a request number; unlike the C macro, refuses a part that does not fit its bit field."""
    for what, value, mask in (
        ("direction", direction, _IOC_DIRMASK),
        ("type", ioc_type, _IOC_TYPEMASK),
        ("nr", nr, _IOC_NRMASK),
        ("size", size, _IOC_SIZEMASK),
    ):
        if not 0 <= value <= mask:
            raise ConfigurationError(f"ioctl {what} {value} does not fit in its field (0..{mask})")
    return (
        (direction << _IOC_DIRSHIFT)
        | (ioc_type << _IOC_TYPESHIFT)
        | (nr << _IOC_NRSHIFT)
        | (size << _IOC_SIZESHIFT)
    )


def _IO(ioc_type: int, nr: int) -> int:
    """A request that carries no argument."""
    return _IOC(_IOC_NONE, ioc_type, nr, 0)


def _IOR(ioc_type: int, nr: int, arg_type: type[ctypes.Structure]) -> int:
    """A request whose argument the kernel writes (user reads)."""
    return _IOC(_IOC_READ, ioc_type, nr, ctypes.sizeof(arg_type))


def _IOW(ioc_type: int, nr: int, arg_type: type[ctypes.Structure]) -> int:
    """A request whose argument user space writes (kernel reads)."""
    return _IOC(_IOC_WRITE, ioc_type, nr, ctypes.sizeof(arg_type))


def _IOWR(ioc_type: int, nr: int, arg_type: type[ctypes.Structure]) -> int:
    """A request whose argument travels both ways."""
    return _IOC(_IOC_READ | _IOC_WRITE, ioc_type, nr, ctypes.sizeof(arg_type))


def _IOC_DIR(request: int) -> int:
    """Direction bits (_IOC_READ / _IOC_WRITE) of a request number."""
    return (request >> _IOC_DIRSHIFT) & _IOC_DIRMASK


def _IOC_TYPE(request: int) -> int:
    """Driver type byte of a request number ('K' for KFD)."""
    return (request >> _IOC_TYPESHIFT) & _IOC_TYPEMASK


def _IOC_NR(request: int) -> int:
    """Command index of a request number."""
    return (request >> _IOC_NRSHIFT) & _IOC_NRMASK


def _IOC_SIZE(request: int) -> int:
    """Argument size in bytes encoded in a request number."""
    return (request >> _IOC_SIZESHIFT) & _IOC_SIZEMASK


# --------------------------------------------------------------------------------------------------
# Version
# --------------------------------------------------------------------------------------------------

KFD_IOCTL_MAJOR_VERSION = 1
KFD_IOCTL_MINOR_VERSION = 18


class kfd_ioctl_get_version_args(KfdStruct):
    _fields_ = [
        ("major_version", u32),
        ("minor_version", u32),
    ]


# --------------------------------------------------------------------------------------------------
# Queues
# --------------------------------------------------------------------------------------------------

KFD_IOC_QUEUE_TYPE_COMPUTE = 0x0
KFD_IOC_QUEUE_TYPE_SDMA = 0x1
KFD_IOC_QUEUE_TYPE_COMPUTE_AQL = 0x2
KFD_IOC_QUEUE_TYPE_SDMA_XGMI = 0x3
KFD_IOC_QUEUE_TYPE_SDMA_BY_ENG_ID = 0x4

KFD_MAX_QUEUE_PERCENTAGE = 100
KFD_MAX_QUEUE_PRIORITY = 15

KFD_MIN_QUEUE_RING_SIZE = 1024


class kfd_ioctl_create_queue_args(KfdStruct):
    _fields_ = [
        ("ring_base_address", u64),
        ("write_pointer_address", u64),
        ("read_pointer_address", u64),
        ("doorbell_offset", u64),
        ("ring_size", u32),
        ("gpu_id", u32),
        ("queue_type", u32),
        ("queue_percentage", u32),
        ("queue_priority", u32),
        ("queue_id", u32),
        ("eop_buffer_address", u64),
        ("eop_buffer_size", u64),
        ("ctx_save_restore_address", u64),
        ("ctx_save_restore_size", u32),
        ("ctl_stack_size", u32),
        ("sdma_engine_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_destroy_queue_args(KfdStruct):
    _fields_ = [
        ("queue_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_update_queue_args(KfdStruct):
    _fields_ = [
        ("ring_base_address", u64),
        ("queue_id", u32),
        ("ring_size", u32),
        ("queue_percentage", u32),
        ("queue_priority", u32),
    ]


class kfd_ioctl_set_cu_mask_args(KfdStruct):
    _fields_ = [
        ("queue_id", u32),
        ("num_cu_mask", u32),
        ("cu_mask_ptr", u64),
    ]


class kfd_ioctl_get_queue_wave_state_args(KfdStruct):
    _fields_ = [
        ("ctl_stack_address", u64),
        ("ctl_stack_used_size", u32),
        ("save_area_used_size", u32),
        ("queue_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_available_memory_args(KfdStruct):
    _fields_ = [
        ("available", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_dbg_device_info_entry(KfdStruct):
    _fields_ = [
        ("exception_status", u64),
        ("lds_base", u64),
        ("lds_limit", u64),
        ("scratch_base", u64),
        ("scratch_limit", u64),
        ("gpuvm_base", u64),
        ("gpuvm_limit", u64),
        ("gpu_id", u32),
        ("location_id", u32),
        ("vendor_id", u32),
        ("device_id", u32),
        ("revision_id", u32),
        ("subsystem_vendor_id", u32),
        ("subsystem_device_id", u32),
        ("fw_version", u32),
        ("gfx_target_version", u32),
        ("simd_count", u32),
        ("max_waves_per_simd", u32),
        ("array_count", u32),
        ("simd_arrays_per_engine", u32),
        ("num_xcc", u32),
        ("capability", u32),
        ("debug_prop", u32),
    ]


# --------------------------------------------------------------------------------------------------
# Memory policy, clocks, apertures
# --------------------------------------------------------------------------------------------------

KFD_IOC_CACHE_POLICY_COHERENT = 0
KFD_IOC_CACHE_POLICY_NONCOHERENT = 1

# Bits of kfd_ioctl_set_memory_policy_args.misc_process_flag.
KFD_PROC_FLAG_MFMA_HIGH_PRECISION = 1 << 0


class kfd_ioctl_set_memory_policy_args(KfdStruct):
    _fields_ = [
        ("alternate_aperture_base", u64),
        ("alternate_aperture_size", u64),
        ("gpu_id", u32),
        ("default_policy", u32),
        ("alternate_policy", u32),
        ("misc_process_flag", u32),
    ]


class kfd_ioctl_get_clock_counters_args(KfdStruct):
    _fields_ = [
        ("gpu_clock_counter", u64),
        ("cpu_clock_counter", u64),
        ("system_clock_counter", u64),
        ("system_clock_freq", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_process_device_apertures(KfdStruct):
    _fields_ = [
        ("lds_base", u64),
        ("lds_limit", u64),
        ("scratch_base", u64),
        ("scratch_limit", u64),
        ("gpuvm_base", u64),
        ("gpuvm_limit", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


# The fixed-size form below is the deprecated one; GET_PROCESS_APERTURES_NEW takes any number of GPUs.
NUM_OF_SUPPORTED_GPUS = 7


class kfd_ioctl_get_process_apertures_args(KfdStruct):
    _fields_ = [
        ("process_apertures", kfd_process_device_apertures * NUM_OF_SUPPORTED_GPUS),
        ("num_of_nodes", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_process_apertures_new_args(KfdStruct):
    _fields_ = [
        ("kfd_process_device_apertures_ptr", u64),
        ("num_of_nodes", u32),
        ("pad", u32),
    ]


# --------------------------------------------------------------------------------------------------
# The pre-1.13 debugger interface (its requests are *_DEPRECATED and fail on current kernels)
# --------------------------------------------------------------------------------------------------

MAX_ALLOWED_NUM_POINTS = 100
MAX_ALLOWED_AW_BUFF_SIZE = 4096
MAX_ALLOWED_WAC_BUFF_SIZE = 128


class kfd_ioctl_dbg_register_args(KfdStruct):
    _fields_ = [
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_dbg_unregister_args(KfdStruct):
    _fields_ = [
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_dbg_address_watch_args(KfdStruct):
    _fields_ = [
        ("content_ptr", u64),
        ("gpu_id", u32),
        ("buf_size_in_bytes", u32),
    ]


class kfd_ioctl_dbg_wave_control_args(KfdStruct):
    _fields_ = [
        ("content_ptr", u64),
        ("gpu_id", u32),
        ("buf_size_in_bytes", u32),
    ]


KFD_INVALID_FD = 0xFFFFFFFF

# --------------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------------

# Event types; the numbering follows HSA_EVENTTYPE.
KFD_IOC_EVENT_SIGNAL = 0
KFD_IOC_EVENT_NODECHANGE = 1
KFD_IOC_EVENT_DEVICESTATECHANGE = 2
KFD_IOC_EVENT_HW_EXCEPTION = 3
KFD_IOC_EVENT_SYSTEM_EVENT = 4
KFD_IOC_EVENT_DEBUG_EVENT = 5
KFD_IOC_EVENT_PROFILE_EVENT = 6
KFD_IOC_EVENT_QUEUE_EVENT = 7
KFD_IOC_EVENT_MEMORY = 8

# kfd_ioctl_wait_events_args.wait_result
KFD_IOC_WAIT_RESULT_COMPLETE = 0
KFD_IOC_WAIT_RESULT_TIMEOUT = 1
KFD_IOC_WAIT_RESULT_FAIL = 2

KFD_SIGNAL_EVENT_LIMIT = 4096

# kfd_hsa_hw_exception_data.reset_type
KFD_HW_EXCEPTION_WHOLE_GPU_RESET = 0
KFD_HW_EXCEPTION_PER_ENGINE_RESET = 1

# kfd_hsa_hw_exception_data.reset_cause
KFD_HW_EXCEPTION_GPU_HANG = 0
KFD_HW_EXCEPTION_ECC = 1

# kfd_hsa_memory_exception_data.ErrorType
KFD_MEM_ERR_NO_RAS = 0
KFD_MEM_ERR_SRAM_ECC = 1
KFD_MEM_ERR_POISON_CONSUMED = 2
KFD_MEM_ERR_GPU_HANG = 3


class kfd_ioctl_create_event_args(KfdStruct):
    _fields_ = [
        ("event_page_offset", u64),
        ("event_trigger_data", u32),
        ("event_type", u32),
        ("auto_reset", u32),
        ("node_id", u32),
        ("event_id", u32),
        ("event_slot_index", u32),
    ]


class kfd_ioctl_destroy_event_args(KfdStruct):
    _fields_ = [
        ("event_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_set_event_args(KfdStruct):
    _fields_ = [
        ("event_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_reset_event_args(KfdStruct):
    _fields_ = [
        ("event_id", u32),
        ("pad", u32),
    ]


class kfd_memory_exception_failure(KfdStruct):
    _fields_ = [
        ("NotPresent", u32),
        ("ReadOnly", u32),
        ("NoExecute", u32),
        ("imprecise", u32),
    ]


class kfd_hsa_memory_exception_data(KfdStruct):
    _fields_ = [
        ("failure", kfd_memory_exception_failure),
        ("va", u64),
        ("gpu_id", u32),
        ("ErrorType", u32),
    ]


class kfd_hsa_hw_exception_data(KfdStruct):
    _fields_ = [
        ("reset_type", u32),
        ("reset_cause", u32),
        ("memory_lost", u32),
        ("gpu_id", u32),
    ]


class kfd_hsa_signal_event_data(KfdStruct):
    _fields_ = [
        ("last_event_age", u64),
    ]


class _kfd_event_data_union(ctypes.Union):
    """The untagged union at the head of kfd_event_data; which member is live depends on the event type."""

    _fields_ = [
        ("memory_exception_data", kfd_hsa_memory_exception_data),
        ("hw_exception_data", kfd_hsa_hw_exception_data),
        ("signal_event_data", kfd_hsa_signal_event_data),
    ]


class kfd_event_data(KfdStruct):
    _anonymous_ = ("_data",)
    _fields_ = [
        ("_data", _kfd_event_data_union),
        ("kfd_event_data_ext", u64),
        ("event_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_wait_events_args(KfdStruct):
    _fields_ = [
        ("events_ptr", u64),
        ("num_events", u32),
        ("wait_for_all", u32),
        ("timeout", u32),
        ("wait_result", u32),
    ]


class kfd_ioctl_set_scratch_backing_va_args(KfdStruct):
    _fields_ = [
        ("va_addr", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_tile_config_args(KfdStruct):
    _fields_ = [
        ("tile_config_ptr", u64),
        ("macro_tile_config_ptr", u64),
        ("num_tile_configs", u32),
        ("num_macro_tile_configs", u32),
        ("gpu_id", u32),
        ("gb_addr_config", u32),
        ("num_banks", u32),
        ("num_ranks", u32),
    ]


class kfd_ioctl_set_trap_handler_args(KfdStruct):
    _fields_ = [
        ("tba_addr", u64),
        ("tma_addr", u64),
        ("gpu_id", u32),
        ("pad", u32),
    ]


class kfd_ioctl_acquire_vm_args(KfdStruct):
    _fields_ = [
        ("drm_fd", u32),
        ("gpu_id", u32),
    ]


# --------------------------------------------------------------------------------------------------
# Memory allocation and mapping
# --------------------------------------------------------------------------------------------------

# Where the memory lives (exactly one of these per allocation).
KFD_IOC_ALLOC_MEM_FLAGS_VRAM = 1 << 0
KFD_IOC_ALLOC_MEM_FLAGS_GTT = 1 << 1
KFD_IOC_ALLOC_MEM_FLAGS_USERPTR = 1 << 2
KFD_IOC_ALLOC_MEM_FLAGS_DOORBELL = 1 << 3
KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP = 1 << 4
# How it may be accessed. WRITABLE is bit 31: positive here, it is the same bit the C `(1 << 31)` sets.
KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE = 1 << 31
KFD_IOC_ALLOC_MEM_FLAGS_EXECUTABLE = 1 << 30
KFD_IOC_ALLOC_MEM_FLAGS_PUBLIC = 1 << 29
KFD_IOC_ALLOC_MEM_FLAGS_NO_SUBSTITUTE = 1 << 28
KFD_IOC_ALLOC_MEM_FLAGS_AQL_QUEUE_MEM = 1 << 27
KFD_IOC_ALLOC_MEM_FLAGS_COHERENT = 1 << 26
KFD_IOC_ALLOC_MEM_FLAGS_UNCACHED = 1 << 25
KFD_IOC_ALLOC_MEM_FLAGS_EXT_COHERENT = 1 << 24
KFD_IOC_ALLOC_MEM_FLAGS_CONTIGUOUS = 1 << 23


class kfd_ioctl_alloc_memory_of_gpu_args(KfdStruct):
    _fields_ = [
        ("va_addr", u64),
        ("size", u64),
        ("handle", u64),
        ("mmap_offset", u64),
        ("gpu_id", u32),
        ("flags", u32),
    ]


class kfd_ioctl_free_memory_of_gpu_args(KfdStruct):
    _fields_ = [
        ("handle", u64),
    ]


class kfd_ioctl_map_memory_to_gpu_args(KfdStruct):
    _fields_ = [
        ("handle", u64),
        ("device_ids_array_ptr", u64),
        ("n_devices", u32),
        ("n_success", u32),
    ]


class kfd_ioctl_unmap_memory_from_gpu_args(KfdStruct):
    _fields_ = [
        ("handle", u64),
        ("device_ids_array_ptr", u64),
        ("n_devices", u32),
        ("n_success", u32),
    ]


class kfd_ioctl_alloc_queue_gws_args(KfdStruct):
    _fields_ = [
        ("queue_id", u32),
        ("num_gws", u32),
        ("first_gws", u32),
        ("pad", u32),
    ]


class kfd_ioctl_get_dmabuf_info_args(KfdStruct):
    _fields_ = [
        ("size", u64),
        ("metadata_ptr", u64),
        ("metadata_size", u32),
        ("gpu_id", u32),
        ("flags", u32),
        ("dmabuf_fd", u32),
    ]


class kfd_ioctl_import_dmabuf_args(KfdStruct):
    _fields_ = [
        ("va_addr", u64),
        ("handle", u64),
        ("gpu_id", u32),
        ("dmabuf_fd", u32),
    ]


class kfd_ioctl_export_dmabuf_args(KfdStruct):
    _fields_ = [
        ("handle", u64),
        ("flags", u32),
        ("dmabuf_fd", u32),
    ]


# --------------------------------------------------------------------------------------------------
# SMI (system management interface) event stream
# --------------------------------------------------------------------------------------------------

# enum kfd_smi_event
KFD_SMI_EVENT_NONE = 0
KFD_SMI_EVENT_VMFAULT = 1
KFD_SMI_EVENT_THERMAL_THROTTLE = 2
KFD_SMI_EVENT_GPU_PRE_RESET = 3
KFD_SMI_EVENT_GPU_POST_RESET = 4
KFD_SMI_EVENT_MIGRATE_START = 5
KFD_SMI_EVENT_MIGRATE_END = 6
KFD_SMI_EVENT_PAGE_FAULT_START = 7
KFD_SMI_EVENT_PAGE_FAULT_END = 8
KFD_SMI_EVENT_QUEUE_EVICTION = 9
KFD_SMI_EVENT_QUEUE_RESTORE = 10
KFD_SMI_EVENT_UNMAP_FROM_GPU = 11
KFD_SMI_EVENT_PROCESS_START = 12
KFD_SMI_EVENT_PROCESS_END = 13
KFD_SMI_EVENT_ALL_PROCESS = 64  # not an event: the mask bit asking for every process's events (needs root)

# enum KFD_MIGRATE_TRIGGERS
KFD_MIGRATE_TRIGGER_PREFETCH = 0
KFD_MIGRATE_TRIGGER_PAGEFAULT_GPU = 1
KFD_MIGRATE_TRIGGER_PAGEFAULT_CPU = 2
KFD_MIGRATE_TRIGGER_TTM_EVICTION = 3

# enum KFD_QUEUE_EVICTION_TRIGGERS
KFD_QUEUE_EVICTION_TRIGGER_SVM = 0
KFD_QUEUE_EVICTION_TRIGGER_USERPTR = 1
KFD_QUEUE_EVICTION_TRIGGER_TTM = 2
KFD_QUEUE_EVICTION_TRIGGER_SUSPEND = 3
KFD_QUEUE_EVICTION_CRIU_CHECKPOINT = 4
KFD_QUEUE_EVICTION_CRIU_RESTORE = 5

# enum KFD_SVM_UNMAP_TRIGGERS
KFD_SVM_UNMAP_TRIGGER_MMU_NOTIFY = 0
KFD_SVM_UNMAP_TRIGGER_MMU_NOTIFY_MIGRATE = 1
KFD_SVM_UNMAP_TRIGGER_UNMAP_FROM_CPU = 2

KFD_SMI_EVENT_MSG_SIZE = 96


def KFD_SMI_EVENT_MASK_FROM_INDEX(index: int) -> int:
    """The bit that enables SMI event `index` (events count from 1) in the mask written to the event fd."""
    return 1 << (index - 1)


class kfd_ioctl_smi_events_args(KfdStruct):
    _fields_ = [
        ("gpuid", u32),
        ("anon_fd", u32),
    ]


# Each SMI event is one text line: the event number, then the text one of these formats produces.
# They mirror the header's printf formats: %x/%lx print the two's-complement bits, %d/%lld are signed.


def _hex(value: int, bits: int) -> str:
    return format(value & ((1 << bits) - 1), "x")


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def KFD_EVENT_FMT_UPDATE_GPU_RESET(reset_seq_num: int, reset_cause: str) -> str:
    """Text of KFD_SMI_EVENT_GPU_PRE_RESET / GPU_POST_RESET ("%x %s\\n")."""
    return f"{_hex(reset_seq_num, 32)} {reset_cause}\n"


def KFD_EVENT_FMT_THERMAL_THROTTLING(bitmask: int, counter: int) -> str:
    """Text of KFD_SMI_EVENT_THERMAL_THROTTLE ("%llx:%llx\\n")."""
    return f"{_hex(bitmask, 64)}:{_hex(counter, 64)}\n"


def KFD_EVENT_FMT_VMFAULT(pid: int, task_name: str) -> str:
    """Text of KFD_SMI_EVENT_VMFAULT ("%x:%s\\n")."""
    return f"{_hex(pid, 32)}:{task_name}\n"


def KFD_EVENT_FMT_PAGEFAULT_START(ns: int, pid: int, addr: int, node: int, rw: str) -> str:
    """Text of KFD_SMI_EVENT_PAGE_FAULT_START; `rw` is 'R' or 'W' ("%lld -%d @%lx(%x) %c\\n")."""
    return f"{_signed(ns, 64)} -{_signed(pid, 32)} @{_hex(addr, 64)}({_hex(node, 32)}) {rw}\n"


def KFD_EVENT_FMT_PAGEFAULT_END(ns: int, pid: int, addr: int, node: int, migrate_update: str) -> str:
    """Text of KFD_SMI_EVENT_PAGE_FAULT_END; `migrate_update` is 'M' or 'U' ("%lld -%d @%lx(%x) %c\\n")."""
    return f"{_signed(ns, 64)} -{_signed(pid, 32)} @{_hex(addr, 64)}({_hex(node, 32)}) {migrate_update}\n"


def KFD_EVENT_FMT_MIGRATE_START(
    ns: int,
    pid: int,
    start: int,
    size: int,
    from_node: int,
    to_node: int,
    prefetch_loc: int,
    preferred_loc: int,
    migrate_trigger: int,
) -> str:
    """Text of KFD_SMI_EVENT_MIGRATE_START ("%lld -%d @%lx(%lx) %x->%x %x:%x %d\\n")."""
    return (
        f"{_signed(ns, 64)} -{_signed(pid, 32)} @{_hex(start, 64)}({_hex(size, 64)}) "
        f"{_hex(from_node, 32)}->{_hex(to_node, 32)} {_hex(prefetch_loc, 32)}:{_hex(preferred_loc, 32)} "
        f"{_signed(migrate_trigger, 32)}\n"
    )


def KFD_EVENT_FMT_MIGRATE_END(
    ns: int,
    pid: int,
    start: int,
    size: int,
    from_node: int,
    to_node: int,
    migrate_trigger: int,
    error_code: int,
) -> str:
    """Text of KFD_SMI_EVENT_MIGRATE_END ("%lld -%d @%lx(%lx) %x->%x %d %d\\n")."""
    return (
        f"{_signed(ns, 64)} -{_signed(pid, 32)} @{_hex(start, 64)}({_hex(size, 64)}) "
        f"{_hex(from_node, 32)}->{_hex(to_node, 32)} "
        f"{_signed(migrate_trigger, 32)} {_signed(error_code, 32)}\n"
    )


def KFD_EVENT_FMT_QUEUE_EVICTION(ns: int, pid: int, node: int, evict_trigger: int) -> str:
    """Text of KFD_SMI_EVENT_QUEUE_EVICTION ("%lld -%d %x %d\\n")."""
    return f"{_signed(ns, 64)} -{_signed(pid, 32)} {_hex(node, 32)} {_signed(evict_trigger, 32)}\n"


def KFD_EVENT_FMT_QUEUE_RESTORE(ns: int, pid: int, node: int, rescheduled: str) -> str:
    """Text of KFD_SMI_EVENT_QUEUE_RESTORE; 'R' marks a failed restore retried later ("%lld -%d %x %c\\n")."""
    return f"{_signed(ns, 64)} -{_signed(pid, 32)} {_hex(node, 32)} {rescheduled}\n"


def KFD_EVENT_FMT_UNMAP_FROM_GPU(
    ns: int, pid: int, addr: int, size: int, node: int, unmap_trigger: int
) -> str:
    """Text of KFD_SMI_EVENT_UNMAP_FROM_GPU ("%lld -%d @%lx(%lx) %x %d\\n")."""
    return (
        f"{_signed(ns, 64)} -{_signed(pid, 32)} @{_hex(addr, 64)}({_hex(size, 64)}) "
        f"{_hex(node, 32)} {_signed(unmap_trigger, 32)}\n"
    )


def KFD_EVENT_FMT_PROCESS(pid: int, task_name: str) -> str:
    """Text of KFD_SMI_EVENT_PROCESS_START / PROCESS_END ("%x %s\\n")."""
    return f"{_hex(pid, 32)} {task_name}\n"


# --------------------------------------------------------------------------------------------------
# CRIU (checkpoint/restore in user space)
# --------------------------------------------------------------------------------------------------

# enum kfd_criu_op
KFD_CRIU_OP_PROCESS_INFO = 0
KFD_CRIU_OP_CHECKPOINT = 1
KFD_CRIU_OP_UNPAUSE = 2
KFD_CRIU_OP_RESTORE = 3
KFD_CRIU_OP_RESUME = 4


class kfd_ioctl_criu_args(KfdStruct):
    _fields_ = [
        ("devices", u64),
        ("bos", u64),
        ("priv_data", u64),
        ("priv_data_size", u64),
        ("num_devices", u32),
        ("num_bos", u32),
        ("num_objects", u32),
        ("pid", u32),
        ("op", u32),
    ]


class kfd_criu_device_bucket(KfdStruct):
    _fields_ = [
        ("user_gpu_id", u32),
        ("actual_gpu_id", u32),
        ("drm_fd", u32),
        ("pad", u32),
    ]


class kfd_criu_bo_bucket(KfdStruct):
    _fields_ = [
        ("addr", u64),
        ("size", u64),
        ("offset", u64),
        ("restored_offset", u64),
        ("gpu_id", u32),
        ("alloc_flags", u32),
        ("dmabuf_fd", u32),
        ("pad", u32),
    ]


# enum kfd_mmio_remap: register byte offsets inside the page mapped with KFD_IOC_ALLOC_MEM_FLAGS_MMIO_REMAP.
KFD_MMIO_REMAP_HDP_MEM_FLUSH_CNTL = 0
KFD_MMIO_REMAP_HDP_REG_FLUSH_CNTL = 4

# --------------------------------------------------------------------------------------------------
# SVM (shared virtual memory) and XNACK
# --------------------------------------------------------------------------------------------------

KFD_IOCTL_SVM_FLAG_HOST_ACCESS = 0x00000001
KFD_IOCTL_SVM_FLAG_COHERENT = 0x00000002
KFD_IOCTL_SVM_FLAG_HIVE_LOCAL = 0x00000004
KFD_IOCTL_SVM_FLAG_GPU_RO = 0x00000008
KFD_IOCTL_SVM_FLAG_GPU_EXEC = 0x00000010
KFD_IOCTL_SVM_FLAG_GPU_READ_MOSTLY = 0x00000020
KFD_IOCTL_SVM_FLAG_GPU_ALWAYS_MAPPED = 0x00000040
KFD_IOCTL_SVM_FLAG_EXT_COHERENT = 0x00000080

# enum kfd_ioctl_svm_op
KFD_IOCTL_SVM_OP_SET_ATTR = 0
KFD_IOCTL_SVM_OP_GET_ATTR = 1

# enum kfd_ioctl_svm_location: a gpu_id names a GPU; these two name the other places.
KFD_IOCTL_SVM_LOCATION_SYSMEM = 0
KFD_IOCTL_SVM_LOCATION_UNDEFINED = 0xFFFFFFFF

# enum kfd_ioctl_svm_attr_type
KFD_IOCTL_SVM_ATTR_PREFERRED_LOC = 0
KFD_IOCTL_SVM_ATTR_PREFETCH_LOC = 1
KFD_IOCTL_SVM_ATTR_ACCESS = 2
KFD_IOCTL_SVM_ATTR_ACCESS_IN_PLACE = 3
KFD_IOCTL_SVM_ATTR_NO_ACCESS = 4
KFD_IOCTL_SVM_ATTR_SET_FLAGS = 5
KFD_IOCTL_SVM_ATTR_CLR_FLAGS = 6
KFD_IOCTL_SVM_ATTR_GRANULARITY = 7


class kfd_ioctl_svm_attribute(KfdStruct):
    _fields_ = [
        ("type", u32),
        ("value", u32),
    ]


class kfd_ioctl_svm_args(KfdStruct):
    """Fixed head of the SVM request; `nattr` kfd_ioctl_svm_attribute entries follow it in the same buffer."""

    _fields_ = [
        ("start_addr", u64),
        ("size", u64),
        ("op", u32),
        ("nattr", u32),
        ("attrs", kfd_ioctl_svm_attribute * 0),  # C flexible array member: adds no size
    ]


class kfd_ioctl_set_xnack_mode_args(KfdStruct):
    _fields_ = [
        ("xnack_enabled", s32),  # <0 queries, 0 disables, >0 enables; returns the mode now in force
    ]


# --------------------------------------------------------------------------------------------------
# Debugger (interface 1.13 and later)
# --------------------------------------------------------------------------------------------------

# enum kfd_dbg_trap_override_mode
KFD_DBG_TRAP_OVERRIDE_OR = 0
KFD_DBG_TRAP_OVERRIDE_REPLACE = 1

# enum kfd_dbg_trap_mask
KFD_DBG_TRAP_MASK_FP_INVALID = 1
KFD_DBG_TRAP_MASK_FP_INPUT_DENORMAL = 2
KFD_DBG_TRAP_MASK_FP_DIVIDE_BY_ZERO = 4
KFD_DBG_TRAP_MASK_FP_OVERFLOW = 8
KFD_DBG_TRAP_MASK_FP_UNDERFLOW = 16
KFD_DBG_TRAP_MASK_FP_INEXACT = 32
KFD_DBG_TRAP_MASK_INT_DIVIDE_BY_ZERO = 64
KFD_DBG_TRAP_MASK_DBG_ADDRESS_WATCH = 128
KFD_DBG_TRAP_MASK_DBG_MEMORY_VIOLATION = 256
KFD_DBG_TRAP_MASK_TRAP_ON_WAVE_START = 1 << 30
KFD_DBG_TRAP_MASK_TRAP_ON_WAVE_END = 1 << 31

# enum kfd_dbg_trap_wave_launch_mode
KFD_DBG_TRAP_WAVE_LAUNCH_MODE_NORMAL = 0
KFD_DBG_TRAP_WAVE_LAUNCH_MODE_HALT = 1
KFD_DBG_TRAP_WAVE_LAUNCH_MODE_DEBUG = 3

# enum kfd_dbg_trap_address_watch_mode
KFD_DBG_TRAP_ADDRESS_WATCH_MODE_READ = 0
KFD_DBG_TRAP_ADDRESS_WATCH_MODE_NONREAD = 1
KFD_DBG_TRAP_ADDRESS_WATCH_MODE_ATOMIC = 2
KFD_DBG_TRAP_ADDRESS_WATCH_MODE_ALL = 3

# enum kfd_dbg_trap_flags
KFD_DBG_TRAP_FLAG_SINGLE_MEM_OP = 1
KFD_DBG_TRAP_FLAG_SINGLE_ALU_OP = 2

# enum kfd_dbg_trap_exception_code: 1..31 belong to a queue, 32..47 to a device, 48.. to the process.
EC_NONE = 0
EC_QUEUE_WAVE_ABORT = 1
EC_QUEUE_WAVE_TRAP = 2
EC_QUEUE_WAVE_MATH_ERROR = 3
EC_QUEUE_WAVE_ILLEGAL_INSTRUCTION = 4
EC_QUEUE_WAVE_MEMORY_VIOLATION = 5
EC_QUEUE_WAVE_APERTURE_VIOLATION = 6
EC_QUEUE_PACKET_DISPATCH_DIM_INVALID = 16
EC_QUEUE_PACKET_DISPATCH_GROUP_SEGMENT_SIZE_INVALID = 17
EC_QUEUE_PACKET_DISPATCH_CODE_INVALID = 18
EC_QUEUE_PACKET_RESERVED = 19
EC_QUEUE_PACKET_UNSUPPORTED = 20
EC_QUEUE_PACKET_DISPATCH_WORK_GROUP_SIZE_INVALID = 21
EC_QUEUE_PACKET_DISPATCH_REGISTER_INVALID = 22
EC_QUEUE_PACKET_VENDOR_UNSUPPORTED = 23
EC_QUEUE_PREEMPTION_ERROR = 30
EC_QUEUE_NEW = 31
EC_DEVICE_QUEUE_DELETE = 32
EC_DEVICE_MEMORY_VIOLATION = 33
EC_DEVICE_RAS_ERROR = 34
EC_DEVICE_FATAL_HALT = 35
EC_DEVICE_NEW = 36
EC_PROCESS_RUNTIME = 48
EC_PROCESS_DEVICE_REMOVE = 49
EC_MAX = 50


def KFD_EC_MASK(ecode: int) -> int:
    """The 64-bit exception-mask bit of exception code `ecode` (codes count from 1)."""
    return 1 << (ecode - 1)


KFD_EC_MASK_QUEUE = (
    KFD_EC_MASK(EC_QUEUE_WAVE_ABORT)
    | KFD_EC_MASK(EC_QUEUE_WAVE_TRAP)
    | KFD_EC_MASK(EC_QUEUE_WAVE_MATH_ERROR)
    | KFD_EC_MASK(EC_QUEUE_WAVE_ILLEGAL_INSTRUCTION)
    | KFD_EC_MASK(EC_QUEUE_WAVE_MEMORY_VIOLATION)
    | KFD_EC_MASK(EC_QUEUE_WAVE_APERTURE_VIOLATION)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_DIM_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_GROUP_SEGMENT_SIZE_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_CODE_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_RESERVED)
    | KFD_EC_MASK(EC_QUEUE_PACKET_UNSUPPORTED)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_WORK_GROUP_SIZE_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_REGISTER_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_VENDOR_UNSUPPORTED)
    | KFD_EC_MASK(EC_QUEUE_PREEMPTION_ERROR)
    | KFD_EC_MASK(EC_QUEUE_NEW)
)
KFD_EC_MASK_DEVICE = (
    KFD_EC_MASK(EC_DEVICE_QUEUE_DELETE)
    | KFD_EC_MASK(EC_DEVICE_RAS_ERROR)
    | KFD_EC_MASK(EC_DEVICE_FATAL_HALT)
    | KFD_EC_MASK(EC_DEVICE_MEMORY_VIOLATION)
    | KFD_EC_MASK(EC_DEVICE_NEW)
)
KFD_EC_MASK_PROCESS = KFD_EC_MASK(EC_PROCESS_RUNTIME) | KFD_EC_MASK(EC_PROCESS_DEVICE_REMOVE)
KFD_EC_MASK_PACKET = (
    KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_DIM_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_GROUP_SEGMENT_SIZE_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_CODE_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_RESERVED)
    | KFD_EC_MASK(EC_QUEUE_PACKET_UNSUPPORTED)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_WORK_GROUP_SIZE_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_DISPATCH_REGISTER_INVALID)
    | KFD_EC_MASK(EC_QUEUE_PACKET_VENDOR_UNSUPPORTED)
)


def KFD_DBG_EC_IS_VALID(ecode: int) -> bool:
    """True for a real exception code (neither EC_NONE nor EC_MAX or beyond)."""
    return EC_NONE < ecode < EC_MAX


def KFD_DBG_EC_TYPE_IS_QUEUE(ecode: int) -> bool:
    """True if `ecode` is raised per queue."""
    return KFD_DBG_EC_IS_VALID(ecode) and bool(KFD_EC_MASK(ecode) & KFD_EC_MASK_QUEUE)


def KFD_DBG_EC_TYPE_IS_DEVICE(ecode: int) -> bool:
    """True if `ecode` is raised per device."""
    return KFD_DBG_EC_IS_VALID(ecode) and bool(KFD_EC_MASK(ecode) & KFD_EC_MASK_DEVICE)


def KFD_DBG_EC_TYPE_IS_PROCESS(ecode: int) -> bool:
    """True if `ecode` is raised per process."""
    return KFD_DBG_EC_IS_VALID(ecode) and bool(KFD_EC_MASK(ecode) & KFD_EC_MASK_PROCESS)


def KFD_DBG_EC_TYPE_IS_PACKET(ecode: int) -> bool:
    """True if `ecode` reports a malformed or unsupported AQL packet."""
    return KFD_DBG_EC_IS_VALID(ecode) and bool(KFD_EC_MASK(ecode) & KFD_EC_MASK_PACKET)


# enum kfd_dbg_runtime_state
DEBUG_RUNTIME_STATE_DISABLED = 0
DEBUG_RUNTIME_STATE_ENABLED = 1
DEBUG_RUNTIME_STATE_ENABLED_BUSY = 2
DEBUG_RUNTIME_STATE_ENABLED_ERROR = 3


class kfd_runtime_info(KfdStruct):
    _fields_ = [
        ("r_debug", u64),
        ("runtime_state", u32),
        ("ttmp_setup", u32),
    ]


# kfd_ioctl_runtime_enable_args.mode_mask
KFD_RUNTIME_ENABLE_MODE_ENABLE_MASK = 1
KFD_RUNTIME_ENABLE_MODE_TTMP_SAVE_MASK = 2


class kfd_ioctl_runtime_enable_args(KfdStruct):
    _fields_ = [
        ("r_debug", u64),
        ("mode_mask", u32),
        ("capabilities_mask", u32),
    ]


class kfd_queue_snapshot_entry(KfdStruct):
    _fields_ = [
        ("exception_status", u64),
        ("ring_base_address", u64),
        ("write_pointer_address", u64),
        ("read_pointer_address", u64),
        ("ctx_save_restore_address", u64),
        ("queue_id", u32),
        ("gpu_id", u32),
        ("ring_size", u32),
        ("queue_type", u32),
        ("ctx_save_restore_area_size", u32),
        ("reserved", u32),
    ]


# Per-queue status bits that SUSPEND_QUEUES / RESUME_QUEUES write back into the caller's queue-id array.
KFD_DBG_QUEUE_ERROR_BIT = 30
KFD_DBG_QUEUE_INVALID_BIT = 31
KFD_DBG_QUEUE_ERROR_MASK = 1 << KFD_DBG_QUEUE_ERROR_BIT
KFD_DBG_QUEUE_INVALID_MASK = 1 << KFD_DBG_QUEUE_INVALID_BIT


class _kfd_context_save_area_header_wave_state(ctypes.Structure):
    """The untagged struct type of kfd_context_save_area_header.wave_state."""

    _fields_ = [
        ("control_stack_offset", u32),
        ("control_stack_size", u32),
        ("wave_state_offset", u32),
        ("wave_state_size", u32),
    ]


class kfd_context_save_area_header(KfdStruct):
    _fields_ = [
        ("wave_state", _kfd_context_save_area_header_wave_state),
        ("debug_offset", u32),
        ("debug_size", u32),
        ("err_payload_addr", u64),
        ("err_event_id", u32),
        ("reserved1", u32),
    ]


# enum kfd_dbg_trap_operations: kfd_ioctl_dbg_trap_args.op. Operations 4..9 touch hardware and need
# AMDKFD_IOC_RUNTIME_ENABLE to have succeeded first.
KFD_IOC_DBG_TRAP_ENABLE = 0
KFD_IOC_DBG_TRAP_DISABLE = 1
KFD_IOC_DBG_TRAP_SEND_RUNTIME_EVENT = 2
KFD_IOC_DBG_TRAP_SET_EXCEPTIONS_ENABLED = 3
KFD_IOC_DBG_TRAP_SET_WAVE_LAUNCH_OVERRIDE = 4
KFD_IOC_DBG_TRAP_SET_WAVE_LAUNCH_MODE = 5
KFD_IOC_DBG_TRAP_SUSPEND_QUEUES = 6
KFD_IOC_DBG_TRAP_RESUME_QUEUES = 7
KFD_IOC_DBG_TRAP_SET_NODE_ADDRESS_WATCH = 8
KFD_IOC_DBG_TRAP_CLEAR_NODE_ADDRESS_WATCH = 9
KFD_IOC_DBG_TRAP_SET_FLAGS = 10
KFD_IOC_DBG_TRAP_QUERY_DEBUG_EVENT = 11
KFD_IOC_DBG_TRAP_QUERY_EXCEPTION_INFO = 12
KFD_IOC_DBG_TRAP_GET_QUEUE_SNAPSHOT = 13
KFD_IOC_DBG_TRAP_GET_DEVICE_SNAPSHOT = 14


class kfd_ioctl_dbg_trap_enable_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
        ("rinfo_ptr", u64),
        ("rinfo_size", u32),
        ("dbg_fd", u32),
    ]


class kfd_ioctl_dbg_trap_send_runtime_event_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
        ("gpu_id", u32),
        ("queue_id", u32),
    ]


class kfd_ioctl_dbg_trap_set_exceptions_enabled_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
    ]


class kfd_ioctl_dbg_trap_set_wave_launch_override_args(KfdStruct):
    _fields_ = [
        ("override_mode", u32),
        ("enable_mask", u32),
        ("support_request_mask", u32),
        ("pad", u32),
    ]


class kfd_ioctl_dbg_trap_set_wave_launch_mode_args(KfdStruct):
    _fields_ = [
        ("launch_mode", u32),
        ("pad", u32),
    ]


class kfd_ioctl_dbg_trap_suspend_queues_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
        ("queue_array_ptr", u64),
        ("num_queues", u32),
        ("grace_period", u32),
    ]


class kfd_ioctl_dbg_trap_resume_queues_args(KfdStruct):
    _fields_ = [
        ("queue_array_ptr", u64),
        ("num_queues", u32),
        ("pad", u32),
    ]


class kfd_ioctl_dbg_trap_set_node_address_watch_args(KfdStruct):
    _fields_ = [
        ("address", u64),
        ("mode", u32),
        ("mask", u32),
        ("gpu_id", u32),
        ("id", u32),
    ]


class kfd_ioctl_dbg_trap_clear_node_address_watch_args(KfdStruct):
    _fields_ = [
        ("gpu_id", u32),
        ("id", u32),
    ]


class kfd_ioctl_dbg_trap_set_flags_args(KfdStruct):
    _fields_ = [
        ("flags", u32),
        ("pad", u32),
    ]


class kfd_ioctl_dbg_trap_query_debug_event_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
        ("gpu_id", u32),
        ("queue_id", u32),
    ]


class kfd_ioctl_dbg_trap_query_exception_info_args(KfdStruct):
    _fields_ = [
        ("info_ptr", u64),
        ("info_size", u32),
        ("source_id", u32),
        ("exception_code", u32),
        ("clear_exception", u32),
    ]


class kfd_ioctl_dbg_trap_queue_snapshot_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
        ("snapshot_buf_ptr", u64),
        ("num_queues", u32),
        ("entry_size", u32),
    ]


class kfd_ioctl_dbg_trap_device_snapshot_args(KfdStruct):
    _fields_ = [
        ("exception_mask", u64),
        ("snapshot_buf_ptr", u64),
        ("num_devices", u32),
        ("entry_size", u32),
    ]


class _kfd_ioctl_dbg_trap_args_union(ctypes.Union):
    """The untagged union of kfd_ioctl_dbg_trap_args; `op` says which member is meant."""

    _fields_ = [
        ("enable", kfd_ioctl_dbg_trap_enable_args),
        ("send_runtime_event", kfd_ioctl_dbg_trap_send_runtime_event_args),
        ("set_exceptions_enabled", kfd_ioctl_dbg_trap_set_exceptions_enabled_args),
        ("launch_override", kfd_ioctl_dbg_trap_set_wave_launch_override_args),
        ("launch_mode", kfd_ioctl_dbg_trap_set_wave_launch_mode_args),
        ("suspend_queues", kfd_ioctl_dbg_trap_suspend_queues_args),
        ("resume_queues", kfd_ioctl_dbg_trap_resume_queues_args),
        ("set_node_address_watch", kfd_ioctl_dbg_trap_set_node_address_watch_args),
        ("clear_node_address_watch", kfd_ioctl_dbg_trap_clear_node_address_watch_args),
        ("set_flags", kfd_ioctl_dbg_trap_set_flags_args),
        ("query_debug_event", kfd_ioctl_dbg_trap_query_debug_event_args),
        ("query_exception_info", kfd_ioctl_dbg_trap_query_exception_info_args),
        ("queue_snapshot", kfd_ioctl_dbg_trap_queue_snapshot_args),
        ("device_snapshot", kfd_ioctl_dbg_trap_device_snapshot_args),
    ]


class kfd_ioctl_dbg_trap_args(KfdStruct):
    _anonymous_ = ("_op_args",)
    _fields_ = [
        ("pid", u32),
        ("op", u32),
        ("_op_args", _kfd_ioctl_dbg_trap_args_union),
    ]


# --------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------

AMDKFD_IOCTL_BASE = ord("K")


def AMDKFD_IO(nr: int) -> int:
    """A KFD request without argument."""
    return _IO(AMDKFD_IOCTL_BASE, nr)


def AMDKFD_IOR(nr: int, arg_type: type[ctypes.Structure]) -> int:
    """A KFD request whose argument the kernel fills in."""
    return _IOR(AMDKFD_IOCTL_BASE, nr, arg_type)


def AMDKFD_IOW(nr: int, arg_type: type[ctypes.Structure]) -> int:
    """A KFD request whose argument the kernel only reads."""
    return _IOW(AMDKFD_IOCTL_BASE, nr, arg_type)


def AMDKFD_IOWR(nr: int, arg_type: type[ctypes.Structure]) -> int:
    """A KFD request whose argument the kernel reads and writes back."""
    return _IOWR(AMDKFD_IOCTL_BASE, nr, arg_type)


@dataclasses.dataclass(frozen=True)
class KfdIoctl:
    """One AMDKFD_IOC_* request: its C name, full request number, command index, direction and argument."""

    name: str
    request: int
    nr: int
    direction: int  # _IOC_READ and/or _IOC_WRITE
    struct: type[ctypes.Structure]

    @property
    def size(self) -> int:
        """Bytes of the argument struct (also encoded in `request`)."""
        return ctypes.sizeof(self.struct)


IOCTLS: dict[int, KfdIoctl] = {}


def _request(
    name: str, encode: Callable[[int, type[ctypes.Structure]], int], nr: int, arg_type: type[ctypes.Structure]
) -> int:
    """Compute a request with one of the AMDKFD_IO* helpers and record it in IOCTLS under its C name."""
    request = encode(nr, arg_type)
    IOCTLS[request] = KfdIoctl(name, request, _IOC_NR(request), _IOC_DIR(request), arg_type)
    return request


AMDKFD_IOC_GET_VERSION = _request("AMDKFD_IOC_GET_VERSION", AMDKFD_IOR, 0x01, kfd_ioctl_get_version_args)
AMDKFD_IOC_CREATE_QUEUE = _request("AMDKFD_IOC_CREATE_QUEUE", AMDKFD_IOWR, 0x02, kfd_ioctl_create_queue_args)
AMDKFD_IOC_DESTROY_QUEUE = _request(
    "AMDKFD_IOC_DESTROY_QUEUE", AMDKFD_IOWR, 0x03, kfd_ioctl_destroy_queue_args
)
AMDKFD_IOC_SET_MEMORY_POLICY = _request(
    "AMDKFD_IOC_SET_MEMORY_POLICY", AMDKFD_IOW, 0x04, kfd_ioctl_set_memory_policy_args
)
AMDKFD_IOC_GET_CLOCK_COUNTERS = _request(
    "AMDKFD_IOC_GET_CLOCK_COUNTERS", AMDKFD_IOWR, 0x05, kfd_ioctl_get_clock_counters_args
)
AMDKFD_IOC_GET_PROCESS_APERTURES = _request(
    "AMDKFD_IOC_GET_PROCESS_APERTURES", AMDKFD_IOR, 0x06, kfd_ioctl_get_process_apertures_args
)
AMDKFD_IOC_UPDATE_QUEUE = _request("AMDKFD_IOC_UPDATE_QUEUE", AMDKFD_IOW, 0x07, kfd_ioctl_update_queue_args)
AMDKFD_IOC_CREATE_EVENT = _request("AMDKFD_IOC_CREATE_EVENT", AMDKFD_IOWR, 0x08, kfd_ioctl_create_event_args)
AMDKFD_IOC_DESTROY_EVENT = _request(
    "AMDKFD_IOC_DESTROY_EVENT", AMDKFD_IOW, 0x09, kfd_ioctl_destroy_event_args
)
AMDKFD_IOC_SET_EVENT = _request("AMDKFD_IOC_SET_EVENT", AMDKFD_IOW, 0x0A, kfd_ioctl_set_event_args)
AMDKFD_IOC_RESET_EVENT = _request("AMDKFD_IOC_RESET_EVENT", AMDKFD_IOW, 0x0B, kfd_ioctl_reset_event_args)
AMDKFD_IOC_WAIT_EVENTS = _request("AMDKFD_IOC_WAIT_EVENTS", AMDKFD_IOWR, 0x0C, kfd_ioctl_wait_events_args)
AMDKFD_IOC_DBG_REGISTER_DEPRECATED = _request(
    "AMDKFD_IOC_DBG_REGISTER_DEPRECATED", AMDKFD_IOW, 0x0D, kfd_ioctl_dbg_register_args
)
AMDKFD_IOC_DBG_UNREGISTER_DEPRECATED = _request(
    "AMDKFD_IOC_DBG_UNREGISTER_DEPRECATED", AMDKFD_IOW, 0x0E, kfd_ioctl_dbg_unregister_args
)
AMDKFD_IOC_DBG_ADDRESS_WATCH_DEPRECATED = _request(
    "AMDKFD_IOC_DBG_ADDRESS_WATCH_DEPRECATED", AMDKFD_IOW, 0x0F, kfd_ioctl_dbg_address_watch_args
)
AMDKFD_IOC_DBG_WAVE_CONTROL_DEPRECATED = _request(
    "AMDKFD_IOC_DBG_WAVE_CONTROL_DEPRECATED", AMDKFD_IOW, 0x10, kfd_ioctl_dbg_wave_control_args
)
AMDKFD_IOC_SET_SCRATCH_BACKING_VA = _request(
    "AMDKFD_IOC_SET_SCRATCH_BACKING_VA", AMDKFD_IOWR, 0x11, kfd_ioctl_set_scratch_backing_va_args
)
AMDKFD_IOC_GET_TILE_CONFIG = _request(
    "AMDKFD_IOC_GET_TILE_CONFIG", AMDKFD_IOWR, 0x12, kfd_ioctl_get_tile_config_args
)
AMDKFD_IOC_SET_TRAP_HANDLER = _request(
    "AMDKFD_IOC_SET_TRAP_HANDLER", AMDKFD_IOW, 0x13, kfd_ioctl_set_trap_handler_args
)
AMDKFD_IOC_GET_PROCESS_APERTURES_NEW = _request(
    "AMDKFD_IOC_GET_PROCESS_APERTURES_NEW", AMDKFD_IOWR, 0x14, kfd_ioctl_get_process_apertures_new_args
)
AMDKFD_IOC_ACQUIRE_VM = _request("AMDKFD_IOC_ACQUIRE_VM", AMDKFD_IOW, 0x15, kfd_ioctl_acquire_vm_args)
AMDKFD_IOC_ALLOC_MEMORY_OF_GPU = _request(
    "AMDKFD_IOC_ALLOC_MEMORY_OF_GPU", AMDKFD_IOWR, 0x16, kfd_ioctl_alloc_memory_of_gpu_args
)
AMDKFD_IOC_FREE_MEMORY_OF_GPU = _request(
    "AMDKFD_IOC_FREE_MEMORY_OF_GPU", AMDKFD_IOW, 0x17, kfd_ioctl_free_memory_of_gpu_args
)
AMDKFD_IOC_MAP_MEMORY_TO_GPU = _request(
    "AMDKFD_IOC_MAP_MEMORY_TO_GPU", AMDKFD_IOWR, 0x18, kfd_ioctl_map_memory_to_gpu_args
)
AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU = _request(
    "AMDKFD_IOC_UNMAP_MEMORY_FROM_GPU", AMDKFD_IOWR, 0x19, kfd_ioctl_unmap_memory_from_gpu_args
)
AMDKFD_IOC_SET_CU_MASK = _request("AMDKFD_IOC_SET_CU_MASK", AMDKFD_IOW, 0x1A, kfd_ioctl_set_cu_mask_args)
AMDKFD_IOC_GET_QUEUE_WAVE_STATE = _request(
    "AMDKFD_IOC_GET_QUEUE_WAVE_STATE", AMDKFD_IOWR, 0x1B, kfd_ioctl_get_queue_wave_state_args
)
AMDKFD_IOC_GET_DMABUF_INFO = _request(
    "AMDKFD_IOC_GET_DMABUF_INFO", AMDKFD_IOWR, 0x1C, kfd_ioctl_get_dmabuf_info_args
)
AMDKFD_IOC_IMPORT_DMABUF = _request(
    "AMDKFD_IOC_IMPORT_DMABUF", AMDKFD_IOWR, 0x1D, kfd_ioctl_import_dmabuf_args
)
AMDKFD_IOC_ALLOC_QUEUE_GWS = _request(
    "AMDKFD_IOC_ALLOC_QUEUE_GWS", AMDKFD_IOWR, 0x1E, kfd_ioctl_alloc_queue_gws_args
)
AMDKFD_IOC_SMI_EVENTS = _request("AMDKFD_IOC_SMI_EVENTS", AMDKFD_IOWR, 0x1F, kfd_ioctl_smi_events_args)
AMDKFD_IOC_SVM = _request("AMDKFD_IOC_SVM", AMDKFD_IOWR, 0x20, kfd_ioctl_svm_args)
AMDKFD_IOC_SET_XNACK_MODE = _request(
    "AMDKFD_IOC_SET_XNACK_MODE", AMDKFD_IOWR, 0x21, kfd_ioctl_set_xnack_mode_args
)
AMDKFD_IOC_CRIU_OP = _request("AMDKFD_IOC_CRIU_OP", AMDKFD_IOWR, 0x22, kfd_ioctl_criu_args)
AMDKFD_IOC_AVAILABLE_MEMORY = _request(
    "AMDKFD_IOC_AVAILABLE_MEMORY", AMDKFD_IOWR, 0x23, kfd_ioctl_get_available_memory_args
)
AMDKFD_IOC_EXPORT_DMABUF = _request(
    "AMDKFD_IOC_EXPORT_DMABUF", AMDKFD_IOWR, 0x24, kfd_ioctl_export_dmabuf_args
)
AMDKFD_IOC_RUNTIME_ENABLE = _request(
    "AMDKFD_IOC_RUNTIME_ENABLE", AMDKFD_IOWR, 0x25, kfd_ioctl_runtime_enable_args
)
AMDKFD_IOC_DBG_TRAP = _request("AMDKFD_IOC_DBG_TRAP", AMDKFD_IOWR, 0x26, kfd_ioctl_dbg_trap_args)

# The kernel's dispatch table covers command indices START <= nr < END.
AMDKFD_COMMAND_START = 0x01
AMDKFD_COMMAND_END = 0x27

# The kernel dispatches on the command index and tolerates a differently sized argument from an older or
# newer user space, so lookups by index are what a simulated kernel needs.
IOCTLS_BY_NR: dict[int, KfdIoctl] = {info.nr: info for info in IOCTLS.values()}


def ioctl_name(request: int) -> str:
    """The AMDKFD_IOC_* name of a request number, or a description of an unknown one."""
    info = IOCTLS.get(request)
    if info is not None:
        return info.name
    direction = {_IOC_NONE: "none", _IOC_READ: "R", _IOC_WRITE: "W", _IOC_READ | _IOC_WRITE: "RW"}
    ioc_type = _IOC_TYPE(request)
    type_text = repr(chr(ioc_type)) if 0x20 < ioc_type < 0x7F else f"{ioc_type:#x}"
    return (
        f"unknown ioctl {request:#010x} (dir {direction[_IOC_DIR(request)]}, type {type_text}, "
        f"nr {_IOC_NR(request):#04x}, size {_IOC_SIZE(request)})"
    )


# --------------------------------------------------------------------------------------------------
# Indexes over the definitions above (built from them, so nothing is listed twice)
# --------------------------------------------------------------------------------------------------

STRUCTS: tuple[type[ctypes.Structure], ...] = tuple(
    value
    for value in list(globals().values())
    if isinstance(value, type) and issubclass(value, KfdStruct) and value is not KfdStruct
)

_CONSTANT_NAME = re.compile(r"(KFD_|AMDKFD_(?!IOC_)|EC_|DEBUG_RUNTIME_STATE_|NUM_OF_|MAX_ALLOWED_)[A-Z0-9_]*")

CONSTANTS: dict[str, int] = {
    name: value
    for name, value in list(globals().items())
    if type(value) is int and _CONSTANT_NAME.fullmatch(name)
}


def constant_names(value: int, prefix: str) -> list[str]:
    """Names of the constants starting with `prefix` whose value is `value` (e.g. decode an EC_ code)."""
    return [name for name, known in CONSTANTS.items() if known == value and name.startswith(prefix)]
