"""Properties of the KFD ABI module that compiling the C header cannot show (encoding, indexes, naming)."""

from __future__ import annotations

import ctypes

import pytest

from pytest_amdgpu.errors import ConfigurationError
from pytest_amdgpu.kfd import abi

REQUEST_NAMES = sorted(name for name in dir(abi) if name.startswith("AMDKFD_IOC_"))


def test_get_version_request_is_read_only_eight_bytes_command_one() -> None:
    # _IOR('K', 0x01, 8 bytes): dir 2 in bits 31:30, size 8 in 29:16, 'K' in 15:8, nr 1 in 7:0.
    assert abi.AMDKFD_IOC_GET_VERSION == 0x80084B01
    assert abi._IOC_DIR(abi.AMDKFD_IOC_GET_VERSION) == abi._IOC_READ
    assert abi._IOC_TYPE(abi.AMDKFD_IOC_GET_VERSION) == ord("K")
    assert abi._IOC_NR(abi.AMDKFD_IOC_GET_VERSION) == 0x01
    assert abi._IOC_SIZE(abi.AMDKFD_IOC_GET_VERSION) == 8


def test_create_queue_request_carries_the_1_18_struct_size() -> None:
    # 1.17 grew the struct from 88 to 96 bytes (sdma_engine_id, pad), so the request number changed too.
    assert abi.AMDKFD_IOC_CREATE_QUEUE == 0xC0604B02
    assert abi.IOCTLS[abi.AMDKFD_IOC_CREATE_QUEUE].size == 96


@pytest.mark.parametrize("name", REQUEST_NAMES)
def test_every_request_decodes_to_its_table_entry(name: str) -> None:
    request = getattr(abi, name)
    info = abi.IOCTLS[request]
    assert info.name == name
    assert info.request == request
    assert abi._IOC_TYPE(request) == abi.AMDKFD_IOCTL_BASE
    assert abi._IOC_NR(request) == info.nr
    assert abi._IOC_DIR(request) == info.direction != abi._IOC_NONE
    assert abi._IOC_SIZE(request) == ctypes.sizeof(info.struct) == info.size
    assert abi.AMDKFD_COMMAND_START <= info.nr < abi.AMDKFD_COMMAND_END


def test_requests_are_unique_and_cover_every_mainline_command_index() -> None:
    assert len(abi.IOCTLS) == len(REQUEST_NAMES) == len({getattr(abi, n) for n in REQUEST_NAMES})
    assert sorted(info.nr for info in abi.IOCTLS.values()) == list(range(0x01, 0x27))
    assert {nr: info.name for nr, info in abi.IOCTLS_BY_NR.items()} == {
        info.nr: info.name for info in abi.IOCTLS.values()
    }


def test_deprecated_debugger_requests_keep_their_numbers_under_deprecated_names() -> None:
    names = {info.nr: info.name for info in abi.IOCTLS.values()}
    assert [names[nr] for nr in (0x0D, 0x0E, 0x0F, 0x10)] == [
        "AMDKFD_IOC_DBG_REGISTER_DEPRECATED",
        "AMDKFD_IOC_DBG_UNREGISTER_DEPRECATED",
        "AMDKFD_IOC_DBG_ADDRESS_WATCH_DEPRECATED",
        "AMDKFD_IOC_DBG_WAVE_CONTROL_DEPRECATED",
    ]


def test_rocm_only_extras_are_absent() -> None:
    assert all(info.nr < 0x80 for info in abi.IOCTLS.values())
    for fragment in ("IPC", "SPM", "PC_SAMPLE", "PCS", "CROSS_MEMORY"):
        assert not [name for name in dir(abi) if fragment in name.upper()], fragment


def test_ioctl_name_of_a_known_request() -> None:
    assert abi.ioctl_name(abi.AMDKFD_IOC_ALLOC_MEMORY_OF_GPU) == "AMDKFD_IOC_ALLOC_MEMORY_OF_GPU"


def test_ioctl_name_of_an_unknown_request_names_its_hex_value_and_parts() -> None:
    # CREATE_QUEUE as encoded by a 1.16 header (88-byte struct) is not a 1.18 request number.
    text = abi.ioctl_name(0xC0584B02)
    assert "0xc0584b02" in text
    assert "nr 0x02" in text
    assert "size 88" in text
    assert "0x12345678" in abi.ioctl_name(0x12345678)


def test_ioc_packs_and_unpacks_each_field() -> None:
    request = abi._IOC(abi._IOC_READ | abi._IOC_WRITE, 0x4B, 0x7F, 0x3FFF)
    assert request == 0xFFFF4B7F
    assert (abi._IOC_DIR(request), abi._IOC_TYPE(request), abi._IOC_NR(request), abi._IOC_SIZE(request)) == (
        3,
        0x4B,
        0x7F,
        0x3FFF,
    )
    assert abi._IO(0x4B, 0x01) == 0x00004B01


@pytest.mark.parametrize(
    ("direction", "ioc_type", "nr", "size"),
    [(4, 0x4B, 1, 8), (1, 0x100, 1, 8), (1, 0x4B, 0x100, 8), (1, 0x4B, 1, 1 << 14), (1, 0x4B, -1, 8)],
)
def test_ioc_refuses_a_part_that_does_not_fit(direction: int, ioc_type: int, nr: int, size: int) -> None:
    with pytest.raises(ConfigurationError, match="does not fit"):
        abi._IOC(direction, ioc_type, nr, size)


@pytest.mark.parametrize("struct", abi.STRUCTS, ids=lambda struct: struct.__name__)
def test_struct_size_is_a_multiple_of_its_alignment(struct: type[ctypes.Structure]) -> None:
    assert ctypes.alignment(struct) in (4, 8)
    assert ctypes.sizeof(struct) % ctypes.alignment(struct) == 0


def test_structs_index_holds_exactly_the_tagged_c_structs() -> None:
    names = [struct.__name__ for struct in abi.STRUCTS]
    assert len(names) == len(set(names)) == 65
    assert all(name.startswith("kfd_") for name in names)
    assert {info.struct for info in abi.IOCTLS.values()} <= set(abi.STRUCTS)


def test_flexible_attribute_array_adds_no_size_to_the_svm_head() -> None:
    assert ctypes.sizeof(abi.kfd_ioctl_svm_args) == 24
    assert abi.kfd_ioctl_svm_args.attrs.offset == 24


def test_event_data_union_members_share_their_first_bytes() -> None:
    event = abi.kfd_event_data()
    event.memory_exception_data.failure.NotPresent = 0x11223344
    assert event.signal_event_data.last_event_age & 0xFFFFFFFF == 0x11223344
    assert event.hw_exception_data.reset_type == 0x11223344
    assert abi.kfd_event_data.kfd_event_data_ext.offset == 32


def test_dbg_trap_operation_arguments_follow_pid_and_op() -> None:
    args = abi.kfd_ioctl_dbg_trap_args(pid=7, op=abi.KFD_IOC_DBG_TRAP_ENABLE)
    args.enable.exception_mask = abi.KFD_EC_MASK(abi.EC_PROCESS_RUNTIME)
    raw = bytes(args)
    assert raw[0:4] == (7).to_bytes(4, "little")
    assert raw[8:16] == (1 << 47).to_bytes(8, "little")
    assert args.suspend_queues.exception_mask == 1 << 47


def test_constants_index_holds_constants_but_not_requests_or_helpers() -> None:
    assert abi.CONSTANTS["KFD_IOCTL_MAJOR_VERSION"] == 1
    assert abi.CONSTANTS["KFD_IOCTL_MINOR_VERSION"] == 18
    assert abi.CONSTANTS["AMDKFD_IOCTL_BASE"] == 0x4B
    assert abi.CONSTANTS["KFD_SMI_EVENT_VMFAULT"] == 1
    assert abi.CONSTANTS["KFD_IOCTL_SVM_OP_SET_ATTR"] == 0
    assert abi.CONSTANTS["KFD_CRIU_OP_PROCESS_INFO"] == 0
    assert not [name for name in abi.CONSTANTS if name.startswith(("AMDKFD_IOC_", "_IOC"))]
    assert all(0 <= value < 1 << 64 for value in abi.CONSTANTS.values())


def test_flags_with_bit_31_are_positive_and_fit_a_u32_field() -> None:
    args = abi.kfd_ioctl_alloc_memory_of_gpu_args(
        flags=abi.KFD_IOC_ALLOC_MEM_FLAGS_VRAM | abi.KFD_IOC_ALLOC_MEM_FLAGS_WRITABLE
    )
    assert args.flags == 0x80000001


def test_each_valid_exception_code_has_exactly_one_scope() -> None:
    for code in range(abi.EC_NONE, abi.EC_MAX + 1):
        scopes = [
            abi.KFD_DBG_EC_TYPE_IS_QUEUE(code),
            abi.KFD_DBG_EC_TYPE_IS_DEVICE(code),
            abi.KFD_DBG_EC_TYPE_IS_PROCESS(code),
        ]
        names = abi.constant_names(code, "EC_")
        if names and abi.KFD_DBG_EC_IS_VALID(code):
            assert scopes.count(True) == 1, names
        else:
            assert not any(scopes), code
    assert abi.KFD_EC_MASK_PACKET & ~abi.KFD_EC_MASK_QUEUE == 0


def test_constant_names_decodes_an_exception_code() -> None:
    assert abi.constant_names(33, "EC_") == ["EC_DEVICE_MEMORY_VIOLATION"]
    assert abi.constant_names(999, "EC_") == []


def test_smi_message_text_masks_hex_fields_to_their_c_width() -> None:
    text = abi.KFD_EVENT_FMT_PAGEFAULT_START(ns=-1, pid=10, addr=-1, node=-1, rw="R")
    assert text == "-1 -10 @ffffffffffffffff(ffffffff) R\n"


def test_struct_repr_names_the_struct_and_its_fields() -> None:
    text = repr(abi.kfd_ioctl_destroy_queue_args(queue_id=3))
    assert text == "kfd_ioctl_destroy_queue_args(queue_id=0x3, pad=0x0)"
