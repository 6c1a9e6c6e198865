"""Test-set figures a person can trust: counts, a confidence interval, and a paired test."""

import numpy as np
import torch
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from data_utils.layout import SMOKING_CLASSES
from models import outputs


def scores(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """Loss, accuracy and ROC AUC (one-vs-rest for more than two classes; nan unless every class
    is there): what a trial's validation reports, and where the final test's figures start."""
    loss = outputs.loss(logits, labels).item()
    accuracy = (outputs.predicted(logits) == labels.long()).float().mean().item()
    return {"loss": loss, "accuracy": accuracy, "auc": roc_auc(logits, labels)}


def roc_auc(logits: torch.Tensor, labels: torch.Tensor) -> float:
    classes = 2 if logits.dim() == 1 else logits.shape[1]
    if labels.unique().numel() < classes:
        return float("nan")
    if logits.dim() == 1:
        return float(roc_auc_score(labels.numpy(), logits.float().numpy()))
    p = outputs.probabilities(logits).numpy()
    return float(roc_auc_score(labels.long().numpy(), p, multi_class="ovr"))


def test_metrics(labels: torch.Tensor, logits: torch.Tensor, classes=None) -> dict:
    """Accuracy with its 95% Wilson interval, loss, ROC AUC, per class precision/recall/F1 and
    their macro averages, and the confusion matrix (rows: the true class, columns: the
    predicted one, in the order of `classes`). Two classes: precision, recall and F1 are those
    of the second class (the smoking data set's 'smoking'), as always; more: the macro averages.
    What a set without every class cannot give is None, the reason under `not_computable`."""
    classes = list(classes or SMOKING_CLASSES)
    y, p = labels.numpy().astype(int), outputs.predicted(logits).numpy()
    correct = int((y == p).sum())
    basic = scores(logits, labels.float())
    interval = binomtest(correct, len(y)).proportion_ci(confidence_level=0.95, method="wilson")
    indices = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, p, labels=indices, zero_division=0
    )
    out = {
        "n": len(y),
        "classes": classes,
        "n_per_class": {c: int(n) for c, n in zip(classes, support, strict=True)},
        "correct": correct,
        "accuracy": correct / len(y),
        "accuracy_ci95": [float(interval.low), float(interval.high)],
        "loss": basic["loss"],
        "precision": None,
        "recall": None,
        "f1": None,
        "roc_auc": None,
        "per_class": {
            c: {"precision": float(a), "recall": float(b), "f1": float(f), "support": int(n)}
            for c, a, b, f, n in zip(classes, precision, recall, f1, support, strict=True)
        },
        "macro": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "confusion_matrix": confusion_matrix(y, p, labels=indices).tolist(),
        "not_computable": {},
    }
    positive = classes[-1]
    if len(classes) > 2:
        out.update(out["macro"])
    elif (p == 1).any():
        out["precision"] = float(precision[1])
    else:
        out["not_computable"]["precision"] = f"no image was predicted '{positive}'"
    if len(classes) == 2 and (y == 1).any():
        out["recall"], out["f1"] = float(recall[1]), float(f1[1])
    elif len(classes) == 2:
        out["not_computable"]["recall"] = out["not_computable"]["f1"] = (
            f"no '{positive}' image in the set"
        )
    if len(np.unique(y)) == len(classes):
        out["roc_auc"] = basic["auc"]
    else:
        both = "both classes" if len(classes) == 2 else "every class"
        out["not_computable"]["roc_auc"] = f"needs images of {both}"
    return out


def mcnemar(labels, logits_a, logits_b, a: str = "winner", b: str = "baseline") -> dict:
    """Exact McNemar test on the same images: do A and B differ in which ones they get right?
    `a` and `b` name them in the keys (only_<a>_correct, only_<b>_correct)."""
    y = labels.long()
    right_a = (outputs.predicted(logits_a) == y).numpy()
    right_b = (outputs.predicted(logits_b) == y).numpy()
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    p = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    return {f"only_{a}_correct": only_a, f"only_{b}_correct": only_b, "p_value": float(p)}
