"""A queue's ring in the driver: where packets go, how the write pointer and doorbell are published."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

import numpy as np

from pytest_amdgpu.driver.buffer import Buffer
from pytest_amdgpu.errors import ConfigurationError, QueueTimeoutError
from pytest_amdgpu.kfd.transport import MappedRegion

RPTR_OFFSET = 0  # in the one-page pointer buffer: the engine's read pointer...
WPTR_OFFSET = 8  # ...and the write pointer user space publishes, each 64 bits


class Ring:
    """Packets are written at the write pointer, padded so none straddles the end, then published.

    Pointers are monotonic 64-bit counts in the engine's unit (dwords for PM4, bytes for SDMA);
    the position in the ring is the pointer modulo the ring size.
    """

    def __init__(
        self,
        ring: Buffer,
        pointers: Buffer,
        doorbells: MappedRegion,
        doorbell_offset: int,
        doorbell_size: int,
        unit_bytes: int,
        nop_filler: Callable[[int], list[int]],
        queue_name: str,
    ) -> None:
        self.ring = ring
        self.pointers = pointers
        self.doorbells = doorbells
        self.doorbell_offset = doorbell_offset
        self.doorbell_size = doorbell_size
        self.unit_bytes = unit_bytes
        self.nop_filler = nop_filler
        self.queue_name = queue_name
        self.size_bytes = ring.size
        self.write_units = 0
        # Packets go straight into the mapped ring; the doorbell store that follows is what the engine sees.
        self._words = ring.view(np.uint32)
        self._known_read_units = 0
        self.submission_starts: collections.deque[int] = collections.deque(maxlen=64)  # packet boundaries

    @property
    def read_units(self) -> int:
        return self.pointers.cpu.load_u64(RPTR_OFFSET)

    @property
    def write_bytes(self) -> int:
        return self.write_units * self.unit_bytes

    def free_bytes(self) -> int:
        self._known_read_units = self.read_units
        return self._free_known()

    def _free_known(self) -> int:
        """Free space by the last read pointer seen: it only grows, so this is never an overestimate."""
        return self.size_bytes - (self.write_bytes - self._known_read_units * self.unit_bytes)

    def wait_for_space(self, needed_bytes: int, timeout_s: float, on_stall: Callable[[], str]) -> None:
        """Block until the engine has read far enough that `needed_bytes` fit without overwriting."""
        if needed_bytes >= self.size_bytes:
            raise ConfigurationError(
                f"{needed_bytes} bytes of packets do not fit in the {self.size_bytes}-byte ring of "
                f"{self.queue_name}"
            )
        if self._free_known() > needed_bytes:
            return
        deadline = time.monotonic() + timeout_s
        while self.free_bytes() <= needed_bytes:
            if time.monotonic() >= deadline:
                raise QueueTimeoutError(
                    f"{self.queue_name}: the engine did not free {needed_bytes} bytes of ring within "
                    f"{timeout_s} s (read pointer {self.read_units}, write pointer {self.write_units})\n"
                    f"{on_stall()}"
                )
            time.sleep(0.0002)

    def write(
        self,
        dwords: list[int] | np.ndarray,
        timeout_s: float,
        on_stall: Callable[[], str],
        publish: bool = True,
    ) -> None:
        """Copy packets into the ring, NOP-padding to the start when they would cross its end; publish
        (unless `publish` is False: then whoever rings the doorbell next makes the engine see them)."""
        nbytes = len(dwords) * 4
        position = self.write_bytes % self.size_bytes
        to_end = self.size_bytes - position
        padding: list[int] = []
        if nbytes > to_end:
            padding = self.nop_filler(to_end // 4)
        self.wait_for_space(nbytes + len(padding) * 4, timeout_s, on_stall)
        if padding:
            self._words[position // 4 :] = padding
            position = 0
        self.submission_starts.append(self.write_units + len(padding) * 4 // self.unit_bytes)
        self._words[position // 4 : position // 4 + len(dwords)] = dwords
        self.write_units += (nbytes + len(padding) * 4) // self.unit_bytes
        if publish:
            self.publish()

    def publish(self) -> None:
        """The write pointer goes to memory first, then to the doorbell that wakes the engine."""
        self.pointers.cpu.store_u64(WPTR_OFFSET, self.write_units)
        if self.doorbell_size == 8:
            self.doorbells.store_u64(self.doorbell_offset, self.write_units)
        else:
            self.doorbells.store_u32(self.doorbell_offset, self.write_units & 0xFFFF_FFFF)

    def idle(self) -> bool:
        return self.read_units * self.unit_bytes >= self.write_bytes
