"""Private: the HTTP machinery under every request of the package.

:mod:`.client` is qiskit-ionq's ``IonQClient`` routed through :mod:`.transport` (the retry
loop); :mod:`.rategate` paces requests a second, :mod:`.concurrency` limits those in flight,
:mod:`.bodyread` reads an answer within its deadline and size cap, :mod:`.sockets` cuts
connections from another thread (Ctrl-C). Nothing here is public API.
"""
