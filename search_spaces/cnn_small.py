"""The seed report's custom CNN on small images (32x32), for any small data set of any classes.

Its default data set is scikit-learn's handwritten digits (10 classes; `python -m
data_utils.digits DATA_ROOT` writes them as class folders); `--dataset` points it at any other.
The same searched settings and the same hand-tuned baseline as cnn_dataset1: only the input
size differs (an 8x8 scan or a thumbnail gains nothing at 256, at 64x the cost of 32).
"""

from search_spaces.cnn_dataset1 import baseline, conditions, fixed, params  # noqa: F401

dataset = "digits"
model = "seed_cnn"
image_size = 32
num_samples = 20
max_passes = 10
