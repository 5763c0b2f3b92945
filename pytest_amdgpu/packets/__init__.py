"""PM4 and SDMA packets: one field table per packet and generation, with builders, decoders and a hang dump.

``pm4`` (compute-queue PM4 packets, dialects gfx9..gfx12), ``sdma`` (SDMA 4..7), ``registers`` (compute SH
registers and their fields), ``dump`` (hang-report text). A stream that does not decode raises
PacketDecodeError, which carries the dword offset, the dword and the reason.
"""

from pytest_amdgpu.packets import dump, pm4, registers, sdma
from pytest_amdgpu.packets.layout import Packet, PacketDecodeError, PacketLayout

__all__ = ["Packet", "PacketDecodeError", "PacketLayout", "dump", "pm4", "registers", "sdma"]
