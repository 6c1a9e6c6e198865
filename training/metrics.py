"""Test-set figures a person can trust: counts, a confidence interval, and a paired test."""

import numpy as np
import torch
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score


def scores(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """Loss, accuracy and ROC AUC (nan with one class): what a trial's validation reports, and
    where the final test's figures start."""
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels).item()
    accuracy = ((logits > 0).float() == labels).float().mean().item()
    two_classes = labels.unique().numel() == 2
    auc = roc_auc_score(labels.numpy(), logits.numpy()) if two_classes else float("nan")
    return {"loss": loss, "accuracy": accuracy, "auc": float(auc)}


def test_metrics(labels: torch.Tensor, logits: torch.Tensor) -> dict:
    """Accuracy with its 95% Wilson interval, loss, precision/recall/F1 for 'smoking', ROC AUC
    and the confusion matrix [[TN, FP], [FN, TP]]; what a one-class set cannot give is None,
    with the reason under `not_computable`."""
    y = labels.numpy().astype(int)
    p = (logits > 0).numpy().astype(int)
    correct = int((y == p).sum())
    basic = scores(logits, labels.float())
    interval = binomtest(correct, len(y)).proportion_ci(confidence_level=0.95, method="wilson")
    out = {
        "n": len(y),
        "n_smoking": int(y.sum()),
        "correct": correct,
        "accuracy": correct / len(y),
        "accuracy_ci95": [float(interval.low), float(interval.high)],
        "loss": basic["loss"],
        "precision": None,
        "recall": None,
        "f1": None,
        "roc_auc": None,
        "confusion_matrix": confusion_matrix(y, p, labels=[0, 1]).tolist(),
        "not_computable": {},
    }
    if p.sum():
        out["precision"] = float(precision_score(y, p, zero_division=0))
    else:
        out["not_computable"]["precision"] = "no image was predicted 'smoking'"
    if y.sum():
        out["recall"] = float(recall_score(y, p))
        out["f1"] = float(f1_score(y, p)) if p.sum() else 0.0
    else:
        out["not_computable"]["recall"] = out["not_computable"]["f1"] = (
            "no 'smoking' image in the set"
        )
    if len(np.unique(y)) == 2:
        out["roc_auc"] = basic["auc"]
    else:
        out["not_computable"]["roc_auc"] = "needs images of both classes"
    return out


def mcnemar(labels: torch.Tensor, logits_a: torch.Tensor, logits_b: torch.Tensor) -> dict:
    """Exact McNemar test on the same images: do A and B differ in which ones they get right?"""
    y = labels.numpy().astype(bool)
    right_a, right_b = (logits_a.numpy() > 0) == y, (logits_b.numpy() > 0) == y
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {"only_winner_correct": only_a, "only_baseline_correct": only_b, "p_value": float(p)}
