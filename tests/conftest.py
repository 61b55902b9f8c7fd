"""Test configuration: float64 everywhere, off-screen plotting."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# The suite is dominated by XLA compilation (hundreds of small programs, each run a few times), not by
# arithmetic: LLVM's expensive passes buy nothing here.  Results change at the rounding level only (the
# same reassociation freedom gameflow's own COMPILER_OPTIONS already grant), and CLI subprocesses inherit it.
os.environ["XLA_FLAGS"] = " ".join(filter(None, [
    os.environ.get("XLA_FLAGS", ""),
    "--xla_backend_optimization_level=0",
    "--xla_llvm_disable_expensive_passes=true",
]))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

from hypothesis import HealthCheck, settings  # noqa: E402

# JIT compilation makes the first example of a property slow; deadlines would flake.
settings.register_profile("gameflow", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gameflow")


import json  # noqa: E402

import pytest  # noqa: E402


class CLI:
    """Runs ``gameflow`` in-process and captures its output."""

    def __init__(self, capsys):
        self.capsys = capsys

    def run(self, *argv):
        from gameflow.experiments.cli import main

        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return code, out, err

    def fails(self, argv, message):
        """Run `argv` and check it is refused as bad input: exit 2, one line naming `message`, no traceback."""
        code, out, err = self.run(*argv)
        assert code == 2, (argv, err)
        assert out == "", argv
        assert err.count("\n") == 1 and err.startswith("gameflow: error: "), (argv, err)
        assert message in err, (argv, err)
        assert "Traceback" not in err

    def json(self, *argv):
        code, out, err = self.run(*argv, "--json")
        assert code == 0, err
        assert out.count("\n") == 1, "--json must print exactly one line"
        return json.loads(out)


@pytest.fixture
def cli(capsys):
    """The CLI runner: ``cli.run(*argv) -> (code, out, err)``, ``cli.json(*argv) -> dict``."""
    return CLI(capsys)
