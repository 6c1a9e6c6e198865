"""Promote the search's winner to one honest final test: `python -m tune.promote EXP`.

The test split (carved and recorded in the experiment's manifest before the search began) is
read here for the first time, once for the winner and once for the seed report's baseline, on
the very same images, so the two can be compared with a paired test.

One module per step, run in order by `command`: `flags` (the command line), `gate` (is the
search over, were the asked-for checkpoints kept), `retrain` (--top-k), `members` (the promoted
trials' networks), `photos` (the splits, a model's logits on them), `probe` (the probe a
pretrained search is compared with), `options` (what is chosen among, scored), `cv_choice`
(cross-validation's choice), `refit` (--refit on train + val), `scores` (test_scores.json),
`save` (model.pt, the leaderboard, summary and report), `words` (the closing prose).
"""

from tune.promote.command import main
from tune.promote.gate import unfinished_because

__all__ = ["main", "unfinished_because"]
