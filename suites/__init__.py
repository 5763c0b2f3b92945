"""The bundled conformance suites that `pytest --amdgpu` runs (installed as pytest_amdgpu.suites)."""
