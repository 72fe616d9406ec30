"""Private: the foundations the operations stand on.

:mod:`.deadline` (the time budget of a call), :mod:`.status` (IonQ's statuses in Qiskit's
terms), :mod:`.validation` (checks made before anything is sent), :mod:`.composite` (jobs made
of IonQ jobs), :mod:`.progress`, :mod:`.sigterm`, :mod:`.threadtree` and :mod:`.version`.
Nothing here is public API.
"""
