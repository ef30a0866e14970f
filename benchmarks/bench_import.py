"""Import time of ``jdmstats`` against a bare interpreter and against its heavy dependencies.

Run: ``python benchmarks/bench_import.py``. Prints the median wall time of 7 fresh interpreter
starts for each statement and the ratios. Nothing is asserted (tests never time things).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "bare interpreter": "pass",
    "import jdmstats": "import jdmstats",
    "import jdmstats.evidence.schema": "import jdmstats.evidence.schema",
    "import jdmstats.evidence.datasets": "import jdmstats.evidence.datasets",
    "import pandas": "import pandas",
    "import pandas, statsmodels.api, lifelines, matplotlib.pyplot": "import pandas, statsmodels.api, lifelines, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot",
}


def wall(statement: str, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    results = {name: wall(stmt) for name, stmt in STATEMENTS.items()}
    bare = results["bare interpreter"]
    for name, t in results.items():
        print(f"{name:<60} {t * 1000:8.1f} ms   {t / bare:5.2f}x bare")
    light = results["import jdmstats"] - bare
    print(f"\n`import jdmstats` costs {light * 1000:.1f} ms over a bare interpreter.")


if __name__ == "__main__":
    main()
