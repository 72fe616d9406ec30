"""The tutorials in notebooks/: they run top to bottom, and their stored outputs leak nothing.

Running them uses ``notebooks/execute.py`` (the script that refreshes the stored outputs), so
the kernel is ipykernel's ``python3`` started with this very interpreter, in ``notebooks/``.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: The made-up API keys the notebooks use; none may show in an output.
KEYS = (
    "tutorial-key-5f3c9a17e2",  # 01: the emulator's key
    "wrong-key-0b1e2d3c4f",  # 01: the wrong key
    "fake-key-for-this-demo-7c21",  # 01: the key read from IONQ_API_KEY
    "sweep-key-2e4f6a8c0b",  # 02: the emulator's key
    "workflow-key-8d2b6f4a1c",  # 03: the emulator's key
    "cost-key-4a9c1e7b3d",  # 04: the emulator's key
)
#: Text that would tie a stored output to one machine or one run.
MACHINE_SPECIFIC = ("/root", "/home/", "/tmp/", "site-packages", "http://127.0.0.1:",
                    str(ROOT))
#: Seconds any one cell may take (a guard against a hang, not a performance target).
CELL_TIMEOUT = 120


def _load_execute() -> ModuleType:
    spec = importlib.util.spec_from_file_location("notebook_execute",
                                                  NOTEBOOK_DIR / "execute.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = _load_execute()


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def output_texts(nb: nbformat.NotebookNode) -> Iterator[tuple[str, str]]:
    """(where, text) for every textual output, plus the stored widget state."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            where = f"cell {index} ({output.output_type})"
            if output.output_type == "stream":
                yield where, output.text
            elif output.output_type == "error":
                yield where, "\n".join([output.ename, output.evalue, *output.traceback])
            else:
                for mime, data in output.get("data", {}).items():
                    if not mime.startswith("image/"):  # base64 could spell anything
                        yield f"{where} {mime}", data if isinstance(data, str) \
                            else json.dumps(data)
    if "widgets" in nb.metadata:
        yield "notebook metadata (widgets)", json.dumps(nb.metadata.widgets)


def leaks(nb: nbformat.NotebookNode) -> list[str]:
    return [f"{where}: {needle!r}" for where, text in output_texts(nb)
            for needle in (*KEYS, *MACHINE_SPECIFIC) if needle in text]


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == ["01_cancel_a_job.ipynb", "02_cancel_at_scale.ipynb",
                                           "03_cancel_in_workflows.ipynb",
                                           "04_what_cancelling_saved.ipynb"]


def test_the_kernel_runs_this_interpreter() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import os, sys\nprint(sys.executable)\n"
                                              "print(os.getcwd())"))
    execute.execute(nb, timeout=60)
    executable, cwd = nb.cells[0].outputs[0].text.split()
    assert Path(executable) == Path(sys.executable)
    assert Path(cwd).resolve() == NOTEBOOK_DIR


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    """Fresh kernel, no network, no account: every cell runs and nothing leaks."""
    nb = copy.deepcopy(nbformat.read(path, as_version=4))
    for cell in code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    execute.execute(nb, timeout=CELL_TIMEOUT)  # raises CellExecutionError on any error
    cells = code_cells(nb)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    outputs = [output for cell in cells for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == [], f"unexpected warnings or stderr output: {stderr}"
    assert leaks(nb) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_has_its_outputs(path: Path) -> None:
    """Stored executed, in order, without per-run metadata, so readers see the results."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    cells = code_cells(nb)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1)), \
        "run `python notebooks/execute.py` to refresh the stored outputs"
    assert all(cell.outputs for cell in cells[1:]), "a code cell has no stored output"
    assert not [o for cell in cells for o in cell.outputs if o.output_type == "error"]
    assert all("execution" not in cell.metadata for cell in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_show_no_key_path_or_emulator_url(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert list(output_texts(nb)), "nothing to scan: the outputs are missing"
    assert leaks(nb) == []


def test_the_keys_scanned_for_are_the_keys_the_notebooks_use() -> None:
    sources = "\n".join(cell.source for path in NOTEBOOKS
                        for cell in nbformat.read(path, as_version=4).cells)
    assert [key for key in KEYS if key not in sources] == []
