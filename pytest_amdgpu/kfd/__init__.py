"""KFD interface: the ABI mirror of linux/kfd_ioctl.h and the Transport seam below the driver."""
