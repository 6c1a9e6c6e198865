"""Test-only fault injection, kept out of the product: the fault tests put this folder on
PYTHONPATH, so every Python process of their search (the driver and Ray's trial workers) runs
it at start-up. With TUNE_TEST_FAULT="EPOCH:once" (or ":always") and TUNE_TEST_FAULT_DIR set,
the first trial to finish epoch EPOCH raises there before reporting it, once (or on every
retry); with "EPOCH:every", every trial does, every time. With TUNE_TEST_SLOW_EPOCH_S=S, every
epoch takes S seconds longer (a search slow enough for its time budget on any CPU). It wraps
training.loop.train_passes when that module is first imported."""

import importlib.abc
import importlib.util
import os
import sys
import time


def inject(train_passes):
    at, mode = os.environ["TUNE_TEST_FAULT"].split(":")
    folder = os.environ["TUNE_TEST_FAULT_DIR"]

    def faulty(config, settings, data, state=None):
        import ray.tune

        for metrics, new_state in train_passes(config, settings, data, state):
            if metrics["epoch"] == int(at) and mode == "every":
                raise RuntimeError(f"injected test fault in epoch {at} of every trial")
            if metrics["epoch"] == int(at):
                trial_id = ray.tune.get_context().get_trial_id()
                claim = os.path.join(folder, "test_fault_trial")
                try:
                    with open(claim, "x") as f:
                        f.write(trial_id)
                except FileExistsError:
                    pass
                raised = os.path.join(folder, f"test_fault_raised_{trial_id}")
                if open(claim).read() == trial_id and (
                    mode == "always" or not os.path.exists(raised)
                ):
                    open(raised, "w").close()
                    raise RuntimeError(f"injected test fault in epoch {at} of trial {trial_id}")
            yield metrics, new_state

    return faulty


def slow(train_passes):
    seconds = float(os.environ["TUNE_TEST_SLOW_EPOCH_S"])

    def slowed(config, settings, data, state=None):
        for metrics, new_state in train_passes(config, settings, data, state):
            time.sleep(seconds)
            yield metrics, new_state

    return slowed


class WrapOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name != "training.loop":
            return None
        sys.meta_path.remove(self)  # find the real module, then wrap it once it has run
        spec = importlib.util.find_spec(name)
        self.real = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        self.real.exec_module(module)
        if os.environ.get("TUNE_TEST_FAULT"):
            module.train_passes = inject(module.train_passes)
        if os.environ.get("TUNE_TEST_SLOW_EPOCH_S"):
            module.train_passes = slow(module.train_passes)


if os.environ.get("TUNE_TEST_FAULT") or os.environ.get("TUNE_TEST_SLOW_EPOCH_S"):
    sys.meta_path.insert(0, WrapOnImport())
