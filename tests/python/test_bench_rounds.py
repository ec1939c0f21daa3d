"""tools/bench's per-round ratios of a target (the spread within one run)."""
import importlib.machinery
import importlib.util
from pathlib import Path

_path = Path(__file__).resolve().parents[2] / "tools" / "bench"
_loader = importlib.machinery.SourceFileLoader("waitron_bench_rounds", str(_path))
_spec = importlib.util.spec_from_loader("waitron_bench_rounds", _loader)
bench = importlib.util.module_from_spec(_spec)
_loader.exec_module(bench)


def _row(workload, server, runs, error=False):
    row = {"workload": workload, "server": server, "runs": runs}
    if error:
        row["error"] = "failed"
    return row


ROWS = [
    _row("A", "waitron", [{"rps": 60.0, "cpu_us_per_req": 10.0},
                          {"rps": 30.0, "cpu_us_per_req": 20.0},
                          {"rps": 50.0, "cpu_us_per_req": None}]),
    _row("A", "waitress", [{"rps": 10.0, "cpu_us_per_req": 100.0},
                           {"rps": 10.0, "cpu_us_per_req": 100.0},
                           {"rps": 0.0, "cpu_us_per_req": 100.0}]),
    _row("F", "nginx", [{"rps": 120.0, "cpu_us_per_req": 12.0},
                        {"rps": 60.0, "cpu_us_per_req": 12.0}]),
    _row("B", "waitron", [{"rps": 5.0}], error=True),
]


def test_round_ratios_pair_the_rounds_of_waitron_and_its_peer():
    # Round by round; a round missing a value (or a zero) on either side is left out.
    assert bench.round_ratios(ROWS, "A", "waitron", "A", "waitress", "rps") == [6.0, 3.0]


def test_a_cost_ratio_is_the_peer_over_waitron():
    assert bench.round_ratios(ROWS, "A", "waitron", "A", "waitress", "cpu") == [10.0, 5.0]


def test_a_peer_of_another_workload_pairs_its_rounds_up_to_the_shorter():
    assert bench.round_ratios(ROWS, "A", "waitron", "F", "nginx", "rps") == [0.5, 0.5]


def test_a_failed_or_missing_server_gives_no_rounds():
    assert bench.round_ratios(ROWS, "B", "waitron", "A", "waitress", "rps") == []
    assert bench.round_ratios(ROWS, "A", "waitron", "A", "gunicorn", "rps") == []
