"""Loaded at start-up by the `fbox` processes that dbtest.killed_run starts (PYTHONPATH): once the
callable FBOX_TEST_KILL_AFTER ("module:attribute.path") has returned, touch FBOX_TEST_KILL_MARK and
sleep, so the test SIGKILLs the process at that exact point."""

import importlib
import os
import time

if os.environ.get("FBOX_TEST_KILL_AFTER") and os.environ.get("FBOX_TEST_KILL_MARK"):
    module, _, path = os.environ["FBOX_TEST_KILL_AFTER"].partition(":")
    *owners, name = path.split(".")
    owner = importlib.import_module(module)
    for attribute in owners:
        owner = getattr(owner, attribute)
    original = getattr(owner, name)

    def held_after(*args, **kwargs):
        result = original(*args, **kwargs)
        open(os.environ["FBOX_TEST_KILL_MARK"], "w").close()
        time.sleep(120)
        return result

    setattr(owner, name, held_after)
