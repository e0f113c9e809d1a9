import pytest

pytest_plugins = ["shared.testing.fixtures"]


def pytest_collection_modifyitems(items):
    """Under pytest-xdist's `--dist loadgroup` (`make test`), a file's tests stay on one worker,
    so its module fixtures are set up once; and every test on the e2e `system` (a session
    fixture: the whole system running) is on one worker, which starts it once."""
    for item in items:
        uses_system = "system" in getattr(item, "fixturenames", ())
        group = "e2e-system" if uses_system else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
