"""What every bench script shares: paths, the machine's state beside each measurement, tables, JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUTOBOT_SHARED", ROOT.parent / "shared"))
RESULTS = ROOT / "bench" / "results"
MARS_DEV = SHARED / "data" / "mars" / "mars_dev.npz"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (other processes compete for the same cores)."""
    return [round(v, 2) for v in os.getloadavg()]


def cpu_model() -> str:
    """The CPU's model name and widest vector unit: two 2-core machines of this project ran a U-Net 5x apart."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "?"
    first_cpu = (line.split(":", 1) for line in text.split("\n\n")[0].splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in first_cpu}
    name, flags = fields.get("model name", "?"), fields.get("flags", "").split()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{name} ({vector})"


def machine() -> dict[str, Any]:
    """Where and when a measurement ran: cores, CPU, load, versions."""
    info: dict[str, Any] = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "cpus": os.cpu_count(),
                            "cpu": cpu_model(), "load_average": load_average(),
                            "python": platform.python_version(), "platform": platform.platform()}
    from autobot.runtime import onednn_enabled

    info["onednn"] = onednn_enabled()  # on AVX2-only CPUs it changes speeds 1.1-1.6x (autobot.runtime)
    for name in ("keras", "tensorflow", "gradio", "gradio_client"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", "?")
    return info


def command_line() -> str:
    return " ".join(["python", os.path.relpath(sys.argv[0], ROOT) if os.path.isabs(sys.argv[0]) else sys.argv[0],
                     *sys.argv[1:]])


def mars_bench_parser(doc: str, name: str, models: bool = True) -> argparse.ArgumentParser:
    """The options every Mars bench takes: ``--models`` (unless it names its own ensembles), ``--data``, ``--out``.

    ``doc``'s first line is the description; ``--out`` defaults to ``bench/results/NAME.json``.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if models:
        parser.add_argument("--models", default=None, help="ensemble folder (default: the shipped Mars ensemble)")
    parser.add_argument("--data", default=str(MARS_DEV))
    parser.add_argument("--out", default=str(RESULTS / f"{name}.json"))
    return parser


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """A fixed-width text table; ``columns`` are ``(key, header, format)`` (e.g. ``".1f"``)."""
    def cell(row, key, fmt):
        value = row.get(key)
        if value is None:
            return "-"
        return format(value, fmt) if fmt else str(value)

    cells = [[cell(row, key, fmt) for key, _, fmt in columns] for row in rows]
    widths = [max([len(header)] + [len(r[i]) for r in cells]) for i, (_, header, _) in enumerate(columns)]
    def line(values):
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))
    out = [line([header for _, header, _ in columns]), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    return "\n".join(out + [line(r) for r in cells])
