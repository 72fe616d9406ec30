"""Re-execute the tutorial notebooks in place, so their stored outputs are current.

    python notebooks/execute.py              # every notebooks/*.ipynb
    python notebooks/execute.py notebooks/01_cancel_a_job.ipynb   # just this one

Each notebook runs top to bottom in a fresh kernel of *this* interpreter (so run it with the
Python that has the package installed), with ``notebooks/`` as its working directory. Then
what changes on every run without meaning anything is stripped or normalised: cell timings,
the Python version, how the kernel happened to split printed text into outputs, and the
random ids of widgets (renumbered in order of appearance).
"""

from __future__ import annotations

import argparse
import html
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import default

HERE = Path(__file__).resolve().parent
#: Seconds any one cell may take.
CELL_TIMEOUT = 300
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class ThisPythonKernelManager(AsyncKernelManager):
    """Starts ipykernel's own ``python3`` kernel with *this* interpreter.

    Only ipykernel's built-in spec is visible (no kernel directories are searched), so a
    ``python3`` kernelspec installed elsewhere cannot swap in another Python.
    """

    @default("kernel_spec_manager")
    def _no_kernel_dirs(self) -> KernelSpecManager:
        return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)


def execute(nb: nbformat.NotebookNode, cwd: Path = HERE,
            timeout: int = CELL_TIMEOUT) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh kernel; raise on the first error."""
    nb.metadata.pop("widgets", None)  # the state of the previous run's widgets
    client = NotebookClient(nb, kernel_name="python3", timeout=timeout,
                            kernel_manager_class=ThisPythonKernelManager,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def _widget_text(state: dict[str, Any], model_id: str) -> str:
    """A one-line text rendering of a widget's final state (a tqdm bar, for instance)."""
    model = state.get(model_id, {})
    values = model.get("state", {})
    name = model.get("model_name", "")
    if name in ("HTMLModel", "LabelModel"):
        return html.unescape(str(values.get("value", ""))).replace("\u2007", " ")
    if name in ("FloatProgressModel", "IntProgressModel"):
        low, high = values.get("min", 0), values.get("max", 1)
        share = (values.get("value", 0) - low) / ((high - low) or 1)
        filled = round(max(0.0, min(1.0, share)) * 20)
        return f"|{'█' * filled}{' ' * (20 - filled)}|"
    children = values.get("children") or []
    return "".join(_widget_text(state, str(c).removeprefix("IPY_MODEL_")) for c in children)


def _merge_streams(outputs: list[Any]) -> list[Any]:
    """Join consecutive prints to the same stream into one output, as Jupyter shows them
    (how the kernel splits them depends on timing)."""
    merged: list[Any] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.output_type == "stream" and last is not None
                and last.output_type == "stream" and last.name == output.name):
            last.text += output.text
        else:
            merged.append(output)
    return merged


def strip(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what changes from run to run without meaning anything, and give widget
    outputs a text version of their final state for viewers that cannot run widgets
    (GitHub shows ``text/plain``, which otherwise holds the widget's *first* state)."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if "outputs" in cell:
            cell.outputs = _merge_streams(cell.outputs)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.get("language_info", {}).pop("version", None)
    widgets = nb.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            text = _widget_text(widgets, view["model_id"]) if view else ""
            if text:
                output["data"]["text/plain"] = text
    if widgets:
        text = nbformat.writes(nb)
        for index, model_id in enumerate(list(widgets)):
            stable = uuid.uuid5(uuid.NAMESPACE_URL, f"widget-{index}").hex
            text = text.replace(model_id, stable)
        nb = nbformat.reads(text, as_version=4)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    paths = [p if p.is_absolute() or p.exists() else HERE / p for p in args.notebooks] \
        or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        started = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        nb = strip(execute(nb))
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"{path.name}: executed in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
