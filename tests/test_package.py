import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "imports",
    [
        "import cropaug",
        "from cropaug.expansion import settings_to_params; import cropaug",
    ],
    ids=["package-first", "module-first"],
)
def test_package_expand_is_function(imports):
    # Runs in a fresh interpreter, so that no earlier import decides the outcome.
    code = f"{imports}; print(callable(cropaug.expand), cropaug.ExpandSummary)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )

    assert result.stderr == ""
    assert result.stdout == "True <class 'cropaug.summary.ExpandSummary'>\n"
