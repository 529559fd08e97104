"""Where the repository's test data and committed assets are."""

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / 'tests' / 'data'
# The four NIPS'17 dev images 1, 2, 44, 50 and labels.txt lines for them.
IMAGES = DATA / 'nips17'
LABELS = DATA / 'cli' / 'labels.txt'
DEV_CSV = DATA / 'cli' / 'dev_dataset_4.csv'
# Committed assets of the demos.
MINI_MODELS = REPO / 'models' / 'mini'
FASHION_SUBSET = REPO / 'data' / 'fashion_mnist' / 'test_subset_1000.npz'
IMAGENET_DEMO = REPO / 'data' / 'imagenet_demo'
CONFIGS = REPO / 'experiments' / 'configs'
