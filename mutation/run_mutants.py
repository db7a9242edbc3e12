"""The mutation check behind `make mutants`: do the unit tests of each area catch small bugs?

Two parts, each on a copy of the tree (the working tree is never touched):

- Python: mutmut mutates the rule-bearing modules listed under `[python]` in
  mutation/mutants.toml, function by function, and runs the fast tests of their areas
  against every mutant (only the tests that reach the mutated function).
- Curated: every `[[mutant]]` of mutation/mutants.toml (SQL models, seeds, rules held in
  constants or SQL text) is applied alone and the unit tests of its area run (`-x`).

A mutant is killed when its tests fail. Prints the kill rates and every survivor, and
exits non-zero when a rate is under the target (90%) or an entry no longer matches the
code. Usage: python mutation/run_mutants.py [--python-only | --curated-only]
[--only ID ...] [--jobs N] [--markdown FILE].
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).with_name("mutants.toml")
TARGET = 0.90
# the fast inner loop: no property tests, no Prefect server
MARKERS = "not slow and not prefect"
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", MARKERS]


@dataclass
class Mutant:
    id: str
    why: str
    area: str
    file: str
    original: str
    mutated: str
    count: int = 1


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | error
    seconds: float
    detail: str = ""


def copy_tree(target: Path) -> Path:
    """The files git knows (committed or not, never ignored ones) under `target`."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # one import root: `nrr.metrics` is the `metrics/` folder (pyproject's package-dir).
    # Link each into the copy's `nrr/`, so the copy imports its own (mutated) folders, not
    # the ones the editable install maps to the working tree.
    setuptools = tomllib.loads((target / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package, folder in setuptools.get("package-dir", {}).items():
        parent, _, leaf = package.rpartition(".")
        if parent == "nrr":
            (target / "nrr" / leaf).symlink_to(target / folder, target_is_directory=True)
    return target


def test_env(tree: Path) -> dict[str, str]:
    """The copy's packages first on the path (the editable install points at the worktree)."""
    return {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}


def check_imports_from(tree: Path) -> None:
    probe = (
        "import nrr.metrics.engine as e, nrr.stripe_source.ledger_rules as r; "
        "print(e.__file__, e.MODELS_DIR, r.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tree,
        env=test_env(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not all(Path(p).is_relative_to(tree) for p in out.split()):
        raise SystemExit(f"the copy at {tree} does not import its own code ({out.strip()})")


# --- curated mutants ------------------------------------------------------------------------


def load_curated(config: dict, only: list[str] | None) -> list[Mutant]:
    mutants = [Mutant(**entry) for entry in config["mutant"]]
    ids = [m.id for m in mutants]
    if len(ids) != len(set(ids)):
        raise SystemExit("mutation/mutants.toml: mutant ids must be unique")
    for mutant in mutants:
        if mutant.area not in config["areas"]:
            raise SystemExit(f"mutant {mutant.id}: unknown area {mutant.area!r}")
        found = (ROOT / mutant.file).read_text().count(mutant.original)
        if found != mutant.count:
            raise SystemExit(
                f"mutant {mutant.id}: its original snippet appears {found} time(s) in "
                f"{mutant.file}, not {mutant.count}; update mutation/mutants.toml"
            )
    return [m for m in mutants if not only or m.id in only]


def baseline(tree: Path, areas: dict[str, list[str]]) -> None:
    """Every area's tests pass on the unmutated copy, or no verdict means anything."""
    for area, tests in areas.items():
        run = subprocess.run(
            [*PYTEST, *tests], cwd=tree, env=test_env(tree), capture_output=True, text=True
        )
        if run.returncode != 0:
            tail = "\n".join(run.stdout.splitlines()[-15:])
            raise SystemExit(f"the {area} tests fail without any mutant:\n{tail}")


def run_mutant(tree: Path, mutant: Mutant, tests: list[str]) -> Outcome:
    path = tree / mutant.file
    original = path.read_text()
    started = time.perf_counter()
    path.write_text(original.replace(mutant.original, mutant.mutated))
    try:
        run = subprocess.run(
            [*PYTEST, *tests],
            cwd=tree,
            env=test_env(tree),
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except subprocess.TimeoutExpired:
        return Outcome(mutant, "killed", time.perf_counter() - started, "timeout")
    finally:
        path.write_text(original)
    seconds = time.perf_counter() - started
    if run.returncode == 0:
        return Outcome(mutant, "survived", seconds)
    if run.returncode in (1, 2):  # tests failed, or collection broke on the mutant
        failed = [line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        return Outcome(mutant, "killed", seconds, failed[0] if failed else "")
    return Outcome(mutant, "error", seconds, f"pytest exit {run.returncode}")


def run_curated(config: dict, only: list[str] | None, jobs: int, work: Path) -> list[Outcome]:
    mutants = load_curated(config, only)
    areas = config["areas"]
    trees = [copy_tree(work / f"curated-{i}") for i in range(max(1, jobs))]
    check_imports_from(trees[0])
    print(f"curated: baseline of {', '.join(areas)} on an unmutated copy ...", flush=True)
    baseline(trees[0], {a: t for a, t in areas.items() if any(m.area == a for m in mutants)})
    free: queue.Queue[Path] = queue.Queue()
    for tree in trees:
        free.put(tree)

    def one(mutant: Mutant) -> Outcome:
        tree = free.get()  # a copy no other mutant is applied to right now
        try:
            outcome = run_mutant(tree, mutant, areas[mutant.area])
        finally:
            free.put(tree)
        print(f"  {outcome.status:8} {mutant.id} ({outcome.seconds:.0f}s)", flush=True)
        return outcome

    with ThreadPoolExecutor(len(trees)) as pool:
        return list(pool.map(one, mutants))


# --- Python modules with mutmut ---------------------------------------------------------------


def run_python(config: dict, jobs: int, work: Path) -> dict[str, object]:
    python = config["python"]
    tree = copy_tree(work / "python")
    check_imports_from(tree)
    settings = {
        "source_paths": python["modules"],
        "pytest_add_cli_args_test_selection": python["tests"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", "-m", MARKERS],
        "also_copy": python["also_copy"],
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [
        f"{key} = {json.dumps(value)}" for key, value in settings.items()
    ]
    with (tree / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n".join(lines) + "\n")
    mutmut = [sys.executable, "-m", "mutmut"]
    print(f"python: mutmut on {', '.join(python['modules'])} ...", flush=True)
    log = work / "mutmut.log"
    started = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(
            [*mutmut, "run", "--max-children", str(max(1, jobs))],
            cwd=tree,
            env=test_env(tree),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )
    seconds = time.perf_counter() - started
    subprocess.run(
        [*mutmut, "export-cicd-stats"],
        cwd=tree,
        env=test_env(tree),
        capture_output=True,
        check=True,
    )
    stats = json.loads((tree / "mutants" / "mutmut-cicd-stats.json").read_text())
    listed = subprocess.run(
        [*mutmut, "results"],
        cwd=tree,
        env=test_env(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    survivors = []
    for line in listed.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status in ("survived", "no tests"):
            shown = subprocess.run(
                [*mutmut, "show", name],
                cwd=tree,
                env=test_env(tree),
                capture_output=True,
                text=True,
            ).stdout
            diff = [x for x in shown.splitlines() if x[:1] in "+-" and x[:3] not in ("+++", "---")]
            survivors.append({"name": name, "status": status, "diff": diff})
    return {"stats": stats, "survivors": survivors, "seconds": seconds}


# --- report ---------------------------------------------------------------------------------


def rate(killed: int, total: int) -> str:
    return f"{killed}/{total} killed ({killed / total:.0%})" if total else "no mutants"


def report(curated: list[Outcome] | None, python: dict | None) -> tuple[str, bool]:
    lines, ok = [], True
    if python is not None:
        stats = python["stats"]
        # timeouts and crashes are the tests noticing the mutant too
        killed = stats["killed"] + stats["timeout"] + stats["segfault"]
        total = stats["total"] - stats["skipped"]
        ok &= total > 0 and killed / total >= TARGET
        lines += [f"## Python (mutmut): {rate(killed, total)} in {python['seconds']:.0f} s", ""]
        for survivor in python["survivors"]:
            lines.append(f"- `{survivor['name']}` ({survivor['status']})")
            lines += [f"      {d}" for d in survivor["diff"]]
        lines.append("")
    if curated is not None:
        killed = sum(o.status == "killed" for o in curated)
        errors = [o for o in curated if o.status == "error"]
        ok &= not errors and bool(curated) and killed / len(curated) >= TARGET
        seconds = sum(o.seconds for o in curated)
        lines += [f"## Curated mutants: {rate(killed, len(curated))} in {seconds:.0f} s", ""]
        lines += ["| mutant | bug | file | verdict |", "|---|---|---|---|"]
        lines += [
            f"| `{o.mutant.id}` | {o.mutant.why} | `{o.mutant.file}` | {o.status} |"
            for o in curated
        ]
        lines.append("")
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--python-only", action="store_true")
    part.add_argument("--curated-only", action="store_true")
    parser.add_argument("--only", nargs="*", help="curated mutant ids to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel test runs (default 1)")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    parser.add_argument("--keep", action="store_true", help="keep the copies for inspection")
    args = parser.parse_args()
    # a stopped run (SIGTERM) still removes its copies
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    config = tomllib.loads(CONFIG.read_text())
    work = Path(tempfile.mkdtemp(prefix="nrr-mutation-"))
    try:
        curated = None if args.python_only else run_curated(config, args.only, args.jobs, work)
        python = None if args.curated_only or args.only else run_python(config, args.jobs, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"copies kept in {work}")
    text, ok = report(curated, python)
    print("\n" + text)
    if args.markdown:
        args.markdown.write_text(text)
    if not ok:
        print(f"mutation check: below the {TARGET:.0%} target, or an entry errored")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
