"""Adapter tests against the provider emulators, over real HTTP on loopback."""
