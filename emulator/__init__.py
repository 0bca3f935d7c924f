"""A local Microsoft 365: Graph v1.0 and the Entra ID token endpoint over HTTPS, demo tenants,
fault injection. See `Emulator` and `m365dash emulator`."""
from .emulator import Emulator, EmulatorSession

__all__ = ["Emulator", "EmulatorSession"]
