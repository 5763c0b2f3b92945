"""One exception hierarchy: every error names what was asked and what went wrong."""

from __future__ import annotations

import errno

import pytest

from pytest_amdgpu import errors


def test_ioctl_errors_carry_name_errno_and_rule() -> None:
    error = errors.KfdIoctlError(
        "AMDKFD_IOC_CREATE_QUEUE", errno.EINVAL, "ring_size 3000 is not a power of two"
    )
    assert str(error) == "AMDKFD_IOC_CREATE_QUEUE failed: EINVAL (ring_size 3000 is not a power of two)"
    assert error.errno == errno.EINVAL and error.errno_name == "EINVAL" and error.ioctl_name.endswith("QUEUE")
    assert isinstance(error, OSError) and isinstance(error, errors.AmdgpuError)


def test_without_a_known_rule_the_system_message_is_given() -> None:
    assert str(errors.KfdIoctlError("AMDKFD_IOC_ACQUIRE_VM", errno.EBUSY)) == (
        "AMDKFD_IOC_ACQUIRE_VM failed: EBUSY (Device or resource busy)"
    )


@pytest.mark.parametrize(
    "error_type",
    [errors.UnknownTargetError, errors.UnknownMachineError, errors.OutOfBoundsError, errors.TransportError],
)
def test_every_error_is_an_amdgpu_error(error_type: type[Exception]) -> None:
    assert issubclass(error_type, errors.AmdgpuError)


def test_key_errors_print_their_message_not_a_repr() -> None:
    assert str(errors.UnknownMachineError("no machine 'x'")) == "no machine 'x'"
