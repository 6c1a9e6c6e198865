"""A search whose trials cost next to nothing, to measure what the engine costs per trial:
scikit-learn's digits (write them with `python -m data_utils.digits DATA_ROOT`), 10 scans per
class and split at 16x16, the report's CNN for at most 3 passes. Used by
benchmarks/many_trials.py (1,000 trials) and tests/test_many_trials.py (100)."""

from search_spaces.smoke import baseline, conditions, fixed, params  # noqa: F401

dataset = "digits"
model = "seed_cnn"
image_size = 16
subset_per_class = 10
num_samples = 100
max_passes = 3
