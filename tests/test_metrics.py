"""The final test's statistics against values computed here from their textbook formulas, not
with the library the code uses (scipy): the Wilson interval and the exact McNemar p-value."""

import math

import pytest
import torch

from training import metrics


def wilson(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's 95% score interval (Wilson 1927; Agresti and Coull 1998, eq. 2)."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar: twice the smaller binomial tail of the discordant pairs (<= 1)."""
    n = only_a + only_b
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def logits_right(right: list[bool], labels: torch.Tensor) -> torch.Tensor:
    """Logits that are right exactly where `right` says (for those labels)."""
    sign = torch.where(torch.tensor(right), labels * 2 - 1, 1 - labels * 2)
    return sign * 2.0


@pytest.mark.parametrize("correct,n", [(107, 144), (137, 144), (144, 144), (0, 10), (210, 224)])
def test_accuracy_interval_is_wilsons(correct, n):
    labels = torch.tensor([float(i % 2) for i in range(n)])
    scores = metrics.test_metrics(labels, logits_right([i < correct for i in range(n)], labels))
    assert scores["correct"] == correct and scores["accuracy"] == pytest.approx(correct / n)
    assert scores["accuracy_ci95"] == pytest.approx(wilson(correct, n), abs=1e-9)


@pytest.mark.parametrize("only_a,only_b,both", [(3, 9, 100), (12, 5, 80), (0, 4, 50), (7, 7, 20)])
def test_mcnemar_p_value_is_the_exact_binomial_one(only_a, only_b, both):
    n = only_a + only_b + both + 6  # and 6 that both get wrong
    labels = torch.tensor([float(i % 2) for i in range(n)])
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * 6
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * 6
    result = metrics.mcnemar(labels, logits_right(a, labels), logits_right(b, labels))
    assert (result["only_winner_correct"], result["only_baseline_correct"]) == (only_a, only_b)
    assert result["p_value"] == pytest.approx(mcnemar_exact(only_a, only_b), rel=1e-9)


def test_the_formulas_here_give_the_textbook_figures():
    """The formulas above, checked by hand: 107 of 144 has the Wilson interval 66.6%-80.7%; 3
    against 9 discordant photos, p = 2 x (1 + 12 + 66 + 220) / 2^12 = 0.146."""
    low, high = wilson(107, 144)
    assert (round(low * 100, 1), round(high * 100, 1)) == (66.6, 80.7)
    assert round(mcnemar_exact(3, 9), 3) == 0.146
