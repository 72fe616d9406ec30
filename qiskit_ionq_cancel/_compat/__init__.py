"""Private: the seams with the libraries we extend.

:mod:`.upstream` is every read and write of qiskit-ionq's private attributes,
:mod:`.urllib3_seam` every use of requests' and urllib3's internals; :mod:`.memory`
and :mod:`.results` fill gaps in what qiskit-ionq's results give Qiskit's primitives. When a
library changes, these modules (and the tests that pin them) are where it shows.
"""
