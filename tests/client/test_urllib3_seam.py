"""The seam with requests and urllib3 (``_compat/urllib3_seam.py``): the internals it reads
and writes exist, with the types it expects, on the installed versions; and no other module
of the package touches them. Fails when a requests or urllib3 release changes them."""

from __future__ import annotations

import ast
import inspect
import socket
from pathlib import Path

import requests
from contract.observed import Emulator
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

import qiskit_ionq_cancel
from qiskit_ionq_cancel._compat import urllib3_seam
from qiskit_ionq_cancel._http.sockets import Sockets

PACKAGE = Path(qiskit_ionq_cancel.__file__).parent
SEAM = PACKAGE / "_compat" / "urllib3_seam.py"
# What the seam reads or writes of requests' and urllib3's objects.
INTERNALS = {"_new_conn", "sock", "connection", "pool_classes_by_scheme", "ConnectionCls",
             "_content", "_content_consumed"}


def test_the_internals_exist_with_the_expected_types() -> None:
    for cls in (HTTPConnection, HTTPSConnection):  # where a connection opens its socket
        new_conn = inspect.getattr_static(cls, "_new_conn")
        assert inspect.isfunction(new_conn)
        assert list(inspect.signature(new_conn).parameters) == ["self"]
    assert HTTPConnectionPool.ConnectionCls is HTTPConnection
    assert HTTPSConnectionPool.ConnectionCls is HTTPSConnection
    classes = PoolManager().pool_classes_by_scheme
    assert classes == {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}
    assert isinstance(inspect.getattr_static(HTTPResponse, "connection"), property)
    fresh = vars(requests.Response())  # what set_content overwrites: not read yet
    assert (fresh["_content"], fresh["_content_consumed"]) == (False, False)
    assert {"_content"} <= set(requests.Response.__attrs__)


def test_a_session_s_connections_report_their_sockets(emu: Emulator) -> None:
    sockets = Sockets()
    session = requests.Session()
    session.mount("http://", sockets.adapter())
    with session:
        response = session.get(f"{emu.url}/backends/simulator", stream=True)
        sock = urllib3_seam.response_socket(response)  # a streamed body: still connected
        assert isinstance(sock, socket.socket)
        assert isinstance(response.raw.connection, urllib3_seam.Connection)
        assert urllib3_seam.socket_of(response.raw.connection) is sock
        urllib3_seam.set_content(response, b'{"seam": true}')
        assert response.json() == {"seam": True}
        assert list(response.iter_content(4)) == [b'{"se', b'am":', b' tru', b'e}']
        response.close()
        assert sockets.abort() >= 1  # the socket _new_conn opened was registered


def test_use_connections_sets_the_pools_classes() -> None:
    adapter = HTTPAdapter()
    urllib3_seam.use_connections(adapter, urllib3_seam.Connection,
                                 urllib3_seam.SecureConnection)
    pool = adapter.poolmanager.connection_from_url("http://127.0.0.1:9")
    assert pool.ConnectionCls is urllib3_seam.Connection
    pool = adapter.poolmanager.connection_from_url("https://127.0.0.1:9")
    assert pool.ConnectionCls is urllib3_seam.SecureConnection


def test_no_other_module_touches_the_internals() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == SEAM or "emulator" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute | ast.FunctionDef):
                name = node.attr if isinstance(node, ast.Attribute) else node.name
                if name in INTERNALS:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
    assert offenders == []
