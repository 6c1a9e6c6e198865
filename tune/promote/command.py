"""python -m tune.promote EXP: the steps of a promotion in order."""

import torch

from training import crossval
from tune import experiment
from tune.promote import probe as tune_probe
from tune.promote.flags import parse_args
from tune.promote.gate import refusal, refuse_what_was_not_kept, unfinished_because
from tune.promote.members import load_members
from tune.promote.options import choose_option, score_options
from tune.promote.photos import Photos
from tune.promote.refit import refit_chosen
from tune.promote.retrain import choose
from tune.promote.save import save_promotion
from tune.promote.scores import baseline_scores, compare, winner_scores
from tune.promote.words import final_words
from tune.results import alternatives_table


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    opened = experiment.Experiment.open(args.results_dir, args.experiment)
    exp_dir, exp = opened.folder, opened.settings
    unfinished = unfinished_because(exp_dir, exp)
    if unfinished and not args.allow_unfinished:
        raise refusal(exp, unfinished, args.results_dir)  # before the test split is read
    refuse_what_was_not_kept(exp, args)
    winner_row, selection = choose(opened, args.top_k, args.seeds)

    photos = Photos(exp_dir, exp)
    probe = tune_probe.fit(photos) if args.probe and tune_probe.applies(exp) else None
    members = load_members(opened, winner_row, args.ensemble or 1)
    views = args.tta or bool(probe and probe.recipe.flip_tta)
    logits = [photos.logits(m.config, m.model, views) for m in members]
    tried = score_options(logits, photos, args.tta, probe)
    chosen, chosen_by, trial_cvs = choose_option(opened, members, tried, probe, photos, args)
    if args.refit and chosen.members:
        members = refit_chosen(opened, photos, members, chosen, probe)

    scores = winner_scores(opened, photos, members, chosen, selection, unfinished)
    scores["chosen_by"] = chosen_by
    if trial_cvs[0]:  # the search's best trial, promoted or not
        scores["best_trial_cv"] = {"trial": members[0].trial, **crossval.summary(trial_cvs[0])}
    if chosen.refit:
        scores["winner"]["refit"] = chosen.refit
    baseline = baseline_scores(opened, photos, members, logits)
    compare(scores, tried, chosen, baseline, probe, photos)
    if len(tried) > 1:
        scores["alternatives"] = [option.as_json() for option in tried]
        print(alternatives_table(scores))
    scores["final_words"] = final_words(scores)
    save_promotion(opened, scores, members, chosen, probe, photos.precision, args.results_dir)
    print(scores["final_words"])
    print(
        f"Wrote {exp_dir}/test_scores.json, {exp_dir}/model.pt, {args.results_dir}/leaderboard.csv"
    )
    return 0
