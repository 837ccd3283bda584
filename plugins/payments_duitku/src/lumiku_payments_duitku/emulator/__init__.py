"""A Duitku emulator for tests and local development (``lumiku payments-duitku emulator``)."""

from lumiku_payments_duitku.emulator.app import API_PATH, DuitkuEmulator
from lumiku_payments_duitku.emulator.orders import Order

__all__ = ["API_PATH", "DuitkuEmulator", "Order"]
