"""Private: the seams with the libraries we extend.

:mod:`.upstream` is every read and write of qiskit-ionq's private attributes; :mod:`.memory`
and :mod:`.results` fill gaps in what qiskit-ionq's results give Qiskit's primitives. When a
library changes, these modules (and the tests that pin them) are where it shows.
"""
