"""pytest-amdgpu: AMD GPU conformance testing on a pure-Python KFD driver, with an embedded simulator."""

__version__ = "0.1.0"
