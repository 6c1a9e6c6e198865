"""The promotion's closing prose, from test_scores.json's figures."""

from tune.results import percent


def final_words(scores: dict) -> str:
    """The promotion's closing prose: how the winner was chosen and what it reached, then the
    report's baseline, the probe and the cross-validation beside it."""
    parts = [
        unfinished_words(scores),
        retrained_words(scores),
        winner_words(scores),
        baseline_words(scores),
        probe_words(scores),
    ]
    return "".join(parts)


def unfinished_words(scores: dict) -> str:
    if not scores.get("unfinished"):  # first, so that nobody reads the figures without it
        return ""
    return (
        f"Promoted with --allow-unfinished before the search had finished "
        f"({scores['unfinished_reason']}): the test split is now read, and the search's "
        f"best may still change. "
    )


def retrained_words(scores: dict) -> str:
    selection = scores["selection"]
    if "mean_by_trial" not in selection:
        return ""
    means = selection["mean_by_trial"]
    margin = (
        f", {selection['margin_val_loss']:.4f} below the next config's {means[1]['val_loss']:.4f}"
        if len(means) > 1
        else ""
    )
    return (
        f"Retrained from scratch, trial {scores['winner']['trial']}'s config had the best mean "
        f"val loss ({means[0]['val_loss']:.4f}{margin}). "
    )


def winner_words(scores: dict) -> str:
    w = scores["winner"]["test"]
    lo, hi = w["accuracy_ci95"]
    reached = (
        f"reached {percent(w['accuracy'])} on {w['n']} test images (95% "
        f"CI {percent(lo)}-{percent(hi)})."
    )
    if "ensemble" not in scores["winner"]:
        refitted = ", refitted on train + val," if "refit" in scores["winner"] else ""
        return f"The search's best model (trial {scores['winner']['trial']}){refitted} {reached}"
    chosen = scores["winner"]["ensemble"]
    trials = ", ".join(str(m["trial"]) for m in chosen["members"])
    which = f" (trial{'s' * (len(chosen['members']) > 1)} {trials})" if trials else ""
    refitted = " refitted on train + val" if "refit" in scores["winner"] else ""
    return (
        f"Chosen by {scores.get('chosen_by', 'validation loss')}, the "
        f"{chosen['name']}{which}{refitted} {reached}"
    )


def baseline_words(scores: dict) -> str:
    if (
        scores.get("baseline", {}).get("trial_id") == scores["winner"]["trial_id"]
        and "ensemble" not in scores["winner"]
    ):
        return (
            " The winner is the report's hand-tuned baseline itself: the search found nothing "
            "better."
        )
    if "baseline" not in scores:
        return ""
    b = scores["baseline"]["test"]
    p = scores["mcnemar_winner_vs_baseline"]["p_value"]
    verdict = "is" if p < 0.05 else "is not"
    return (
        f" The report's hand-tuned config reached {percent(b['accuracy'])}; the "
        f"difference {verdict} significant (McNemar p={p:.3g})."
    )


def probe_words(scores: dict) -> str:
    if "probe" not in scores:
        return ""
    if scores["winner"]["trial_id"] == "probe":
        text = (
            " The winner is the probe itself (a logistic regression on frozen features): the "
            f"search's own models did not beat it ({scores.get('chosen_by', 'validation loss')})."
        )
    else:
        pr, p = scores["probe"]["test"], scores["mcnemar_winner_vs_probe"]["p_value"]
        text = (
            f" The probe ({scores['probe']['recipe']}) reached {percent(pr['accuracy'])}; McNemar "
            f"p={p:.3g} against it."
        )
    if "best_trial_cv" in scores:
        cv, probe_cv = scores["best_trial_cv"], scores["probe"]["cv"]
        text += (
            f" Cross-validated over train + val ({cv['folds']} folds): the best trial "
            f"({cv['trial']})'s config {percent(cv['accuracy_mean'])} "
            f"(sd {percent(cv['accuracy_sd'])}), the probe {percent(probe_cv['accuracy_mean'])} "
            f"(sd {percent(probe_cv['accuracy_sd'])})."
        )
    return text
