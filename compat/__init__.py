"""Compatibility harness: this package against qiskit-ionq releases and qiskit-ionq's own tests.

``noxfile.py`` at the repository root drives it; see docs/compatibility.md.
"""
