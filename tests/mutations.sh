#!/usr/bin/env bash
# Do the tests catch a broken feature? Each mutation below breaks one feature in a scratch copy
# of the project, then runs the test named after that feature, which must now FAIL.
# Run by hand, not in CI (about 30 minutes): bash tests/mutations.sh [MUTATION_NAME ...]
# It uses the project's .venv (PYTHON=... to choose another) and the photos in ../shared/datasets
# (or $TUNE_DATA_ROOT); the scratch copies are deleted at the end.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
export TUNE_DATA_ROOT=${TUNE_DATA_ROOT:-$(cd "$REPO/.." && pwd)/shared/datasets}
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

# name | file | exact text | replaced by (\n: a new line) | the test that must fail
MUTATIONS=$(cat <<'EOF'
halving-pauses-the-baseline|tune/engine/rungs.py|        if trial_id == self.baseline:|        if False:|tests/test_scheduler.py::test_the_baseline_fills_the_rungs_but_is_never_paused_or_stopped
first-trials-pass-unjudged|tune/engine/rungs.py|[: len(self.results[milestone]) // self.factor]|[: max(1, len(self.results[milestone]) // self.factor)]|tests/test_scheduler.py::test_a_rung_judges_no_trial_before_it_has_three_results
space-budget-old-name-unread|search_spaces/__init__.py|    if hasattr(space, "max_epochs") and not hasattr(space, "max_passes"):|    if False:|tests/test_space_file.py::test_a_space_file_names_its_budget_max_passes_or_as_before_max_epochs
budget-unit-lost-in-migration|tune/settings.py|        given["budget_unit"] = given.pop("budget", "epochs")  # none recorded before passes|        given["budget_unit"] = "epochs"|tests/test_settings.py::test_every_older_experiment_json_reads_its_budget_in_its_own_unit
a-function-grows-past-a-screen|training/metrics.py|    """Accuracy with its 95% Wilson interval, loss, ROC AUC, per class precision/recall/F1 and|    # one\n    # two\n    # three\n    """Accuracy with its 95% Wilson interval, loss, ROC AUC, per class precision/recall/F1 and|tests/test_code_shape.py::test_no_function_of_the_product_is_longer_than_60_lines
old-asha-experiment-resumed|tune/run.py|    if exp.scheduler != "halving":|    if False:|tests/test_old_asha.py::test_the_old_asha_searches_from_the_benchmarks_and_tune_run_refuses_to_resume_it
halving-forgets-its-rungs|tune/engine/scheduler.py|        if self.run and self.run.state_file.exists():|        if False:|tests/test_scheduler.py::test_the_rungs_and_the_waiting_survive_a_new_driver
rungs-file-rewritten-per-stopped-trial|tune/engine/scheduler.py|        if trial_id in self.halving.ended:\n            return|        pass|tests/test_scheduler.py::test_a_decision_that_stops_waiting_trials_rewrites_the_rungs_file_once
resumed-stop-keeps-its-result-from-the-study|tune/engine/scheduler.py|    tune_controller.search_alg.on_trial_complete(trial.trial_id, result=last)|    pass|tests/test_scheduler.py::test_a_trial_stopped_here_that_ray_brings_back_pending_is_stopped_but_an_errored_one_runs
closed-rung-stops-a-saving-trial|tune/engine/scheduler.py|            if any(trials[t].status != Trial.PAUSED for t in here if t in trials):|            if False:|tests/test_scheduler.py::test_a_closed_rung_stops_its_losers_and_lets_at_least_one_on
rungs-property-pass-unjudged|tune/engine/rungs.py|[: len(self.results[milestone]) // self.factor]|[: max(1, len(self.results[milestone]) // self.factor)]|tests/test_rungs.py::test_no_trial_passes_a_rung_unjudged_and_none_is_left_waiting
rungs-closed-rung-lets-none-on|tune/engine/rungs.py|        best = self.ranked(milestone)[: max(1, len(self.results[milestone]) // self.factor)]|        best = self.ranked(milestone)[: len(self.results[milestone]) // self.factor]|tests/test_rungs.py::test_no_trial_passes_a_rung_unjudged_and_none_is_left_waiting
rungs-restore-forgets-the-waiting|tune/engine/rungs.py|        self.waiting, self.progress = dict(state["waiting"]), dict(state["progress"])|        self.waiting, self.progress = {}, dict(state["progress"])|tests/test_rungs.py::test_a_system_restored_from_its_saved_state_decides_the_same
baseline-known-by-its-values|tune/__init__.py|    if BASELINE_FLAG in config:|    if False:|tests/test_scheduler.py::test_a_later_draw_equal_to_the_baselines_values_is_not_a_second_baseline
every-trial-failed-after-a-pass-exits-0|tune/run.py|    if exp.finished and (no_pass or (table["status"] == "ERROR").all()):|    if exp.finished and no_pass:|tests/test_faults.py::test_a_search_whose_every_trial_fails_exits_non_zero_and_says_why
ended-status-ignores-the-unit|tune/__init__.py|    done = passes_of(result) if unit == "passes" else float(result.get("epoch", 0) or 0)|    done = passes_of(result)|tests/test_scheduler.py::test_an_asha_trial_with_offline_rotations_stopped_at_a_rung_is_stopped_not_completed
private-name-outside-its-module|tune/study.py|        notes.set_trial_user_attr(trial_id, "ended", how)|        study._storage.set_trial_user_attr(trial_id, "ended", how)|tests/test_private_apis.py::test_no_module_but_the_private_one_reaches_a_private_name_of_another_object
inherited-private-name-unlisted|tune/engine/private.py|    for name in ("_ot_study", "_ot_trials", "_completed_trials", "_storage", "_setup_study")|    for name in ("_ot_study", "_ot_trials", "_storage", "_setup_study")|tests/test_private_apis.py::test_every_private_attribute_our_subclasses_use_of_their_base_is_listed
optimizer-kept-after-the-trial-ends|tune/engine/search.py|    if len(kept) < len(state):|    if False:|tests/test_search.py::test_an_ended_trials_checkpoint_keeps_only_its_weights_and_passes
stopped-trials-keep-checkpoints|tune/experiment.py|    if keep is None or trained.empty:|    if True:|tests/test_many_trials.py::test_a_search_of_100_trials_keeps_each_trial_once_in_the_table_the_study_and_the_rungs
promote-takes-more-than-was-kept|tune/experiment.py|    if keep is None or wanted <= keep:|    if True:|tests/test_many_trials.py::test_a_search_of_100_trials_keeps_each_trial_once_in_the_table_the_study_and_the_rungs
state-saved-every-second-at-any-size|tune/engine/search.py|    return max(1, trials // 100)|    return 1|tests/test_many_trials.py::test_ray_saves_its_state_every_second_in_small_searches_and_less_often_in_large_ones
curves-drop-a-trial|tune/report.py|    others = [t for t in histories if t not in (best_id, baseline_id)]|    others = [t for t in histories if t not in (best_id, baseline_id)][1:]|tests/test_report.py::test_curves_have_one_line_per_trial_with_its_own_data
collector-full-passes-scan-everything|tune/engine/collector.py|    gc.freeze()\n    gc.callbacks|    gc.callbacks|tests/test_run_context.py::test_two_searches_in_one_process_keep_their_own_runs
collector-left-frozen|tune/engine/collector.py|        gc.unfreeze()|        pass|tests/test_run_context.py::test_two_searches_in_one_process_keep_their_own_runs
collector-survivors-scanned-again|tune/engine/collector.py|        gc.freeze()|        pass|tests/test_collector.py::test_what_survives_a_full_pass_during_a_search_is_left_out_of_the_next_passes
collector-hook-left-behind|tune/engine/collector.py|        gc.callbacks.remove(_freeze_survivors)|        pass|tests/test_collector.py::test_what_survives_a_full_pass_during_a_search_is_left_out_of_the_next_passes
collector-full-passes-as-often-as-python-makes-them|tune/engine/collector.py|    gc.set_threshold(*thresholds[:2], FULL_PASS_EVERY)|    pass|tests/test_collector.py::test_what_survives_a_full_pass_during_a_search_is_left_out_of_the_next_passes
collector-thresholds-left-changed|tune/engine/collector.py|        gc.set_threshold(*thresholds)|        pass|tests/test_collector.py::test_what_survives_a_full_pass_during_a_search_is_left_out_of_the_next_passes
ray-imported-first-listens-everywhere|tune/engine/cluster.py|        private.loopback_node_ip()|        pass|tests/test_security.py::test_our_ray_listens_on_loopback_only_without_dashboard
promotion-fits-fanova-again|tune/report.py|    if not redraw and kept.is_file():|    if False:|tests/test_report.py::test_a_promotion_reads_the_importance_shares_back_instead_of_fitting_fanova_again
report-reads-stale-shares|tune/report.py|    if not redraw and kept.is_file():|    if kept.is_file():|tests/test_report.py::test_a_promotion_reads_the_importance_shares_back_instead_of_fitting_fanova_again
promotion-redraws-the-figures|tune/promote/save.py|    write_report(exp_dir, opened, redraw=False)|    write_report(exp_dir, opened)|tests/test_after_search.py::test_promote_writes_honest_test_scores
unreadable-settings-traceback|tune/settings.py|    except (ValueError, TypeError, KeyError, AttributeError) as error:|    except OSError as error:|tests/test_relocate.py::test_an_experiment_json_this_version_cannot_read_is_one_line
old-scheduler-pickle-not-migrated|tune/engine/scheduler.py|        if "halving" not in state:|        if False:|tests/test_scheduler.py::test_a_scheduler_pickled_before_the_rungs_were_their_own_object_resumes
last-trial-keeps-one-cpu|tune/engine/scheduler.py|        wanted = idle if not ready and not more_to_come else base|        wanted = base|tests/test_scheduler.py::test_the_last_trial_running_gets_the_idle_cpus
rungs-per-epoch|training/loop.py|    copies = max(1, round(len(train_set) / pass_size))|    copies = 1|tests/test_resume.py::test_a_trial_with_offline_rotations_meets_the_first_rung_after_as_many_images_as_a_1x_trial
resume-trusts-the-rungs-file-over-ray|tune/engine/scheduler.py|        self.halving.rewind(trial.trial_id, passes_of(trial.run_metadata.last_result))|        pass|tests/test_scheduler.py::test_a_driver_killed_before_ray_saved_a_trials_pause_resumes_it_from_what_ray_saved
stopped-trial-saved-running-runs-on|tune/engine/scheduler.py|            pending = trial.status == Trial.PENDING and trial.trial_id in self.halving.stopped|            pending = False|tests/test_scheduler.py::test_a_trial_stopped_here_that_ray_brings_back_pending_is_stopped_but_an_errored_one_runs
errored-trial-not-retried|tune/engine/scheduler.py|            pending = trial.status == Trial.PENDING and trial.trial_id in self.halving.stopped|            pending = trial.status == Trial.PENDING and trial.trial_id in self.halving.ended|tests/test_scheduler.py::test_a_trial_stopped_here_that_ray_brings_back_pending_is_stopped_but_an_errored_one_runs
hopeless-stop-not-recorded|tune/engine/rungs.py|                self.stopped.add(trial_id)|                pass|tests/test_scheduler.py::test_a_trial_that_can_no_longer_go_on_stops_at_once_instead_of_waiting
stopped-trial-saved-paused-runs-on|tune/engine/scheduler.py|                stop_paused(tune_controller, trial)  # stopped here, but Ray had saved it on|                pass|tests/test_scheduler.py::test_a_trial_stopped_at_a_closed_rung_but_saved_paused_by_ray_stops_on_resume
rewind-forgets-nothing|tune/engine/rungs.py|                self.results[milestone].pop(trial_id, None)|                pass|tests/test_scheduler.py::test_a_driver_killed_before_ray_saved_a_trials_pause_resumes_it_from_what_ray_saved
lost-trial-kept-in-the-rungs|tune/engine/scheduler.py|            for trial_id in self.halving.seen - set(trials):|            for trial_id in []:|tests/test_scheduler.py::test_a_trial_ray_had_not_saved_when_the_driver_was_killed_is_forgotten_by_the_rungs
unfinished-trial-slimmed|tune/engine/search.py|        if trial.status != "TERMINATED":|        if False:|tests/test_speed.py::test_a_time_budget_pauses_trials_at_an_epoch_end_and_resume_finishes_them_after_a_move
hopeless-ignores-trials-to-come|tune/engine/rungs.py|        most = len(self.results[milestone]) + below + max(0, self.total - len(self.seen))|        most = len(self.results[milestone])|tests/test_rungs.py::test_stopping_the_hopeless_at_once_lets_on_the_same_trials
hopeless-trial-waits|tune/engine/rungs.py|            if self.hopeless(trial_id, reached):|            if False:|tests/test_scheduler.py::test_a_trial_that_can_no_longer_go_on_stops_at_once_instead_of_waiting
hopeless-waiting-trial-kept|tune/engine/scheduler.py|        self._stop_hopeless(tune_controller, trials)|        pass|tests/test_scheduler.py::test_a_trial_that_can_no_longer_go_on_stops_at_once_instead_of_waiting
study-back-on-sqlite|tune/study.py|    if path.name == OLD_STUDY_FILE:|    if True:|tests/test_study.py::test_a_new_experiment_keeps_its_study_in_a_journal_an_older_one_in_sqlite
trial-folders-named-by-the-engine|tune/engine/search.py|from tune import METRIC, MODE, trial_folder_name|from tune import METRIC, MODE\ndef trial_folder_name(trial):\n    return trial.trial_id|tests/test_after_search.py::test_the_trial_table_reads_a_search_without_importing_torch_or_the_search
waiting-trial-runs-on-after-resume|tune/engine/scheduler.py|            trial.set_status(Trial.PAUSED)  # restored by --resume: it still waits at its rung|            pass|tests/test_scheduler.py::test_the_rungs_and_the_waiting_survive_a_new_driver
mid-epoch-resume-loses-its-order|training/loop.py|            **({"order": order} if passes % copies else {}),|            **({}),|tests/test_resume.py::test_a_resumed_trial_trains_exactly_as_an_uninterrupted_one
paused-trials-count-as-running|tune/engine/search.py|        if len(self.live_trials - waiting) >= self.max_concurrent:|        if len(self.live_trials) >= self.max_concurrent:|tests/test_resume.py::test_kill_9_while_a_trial_waits_at_a_rung_then_resume
runs-share-the-rungs-file|tune/engine/context.py|        return self.exp_dir / "scheduler_state.json"|        return Path("/tmp/shared_scheduler_state.json")|tests/test_run_context.py::test_two_searches_in_one_process_keep_their_own_runs
unfinished-trial-called-running|tune/experiment.py|        status = "RUNNING" if searching else "PAUSED"|        status = "RUNNING"|tests/test_after_search.py::test_a_trial_left_unfinished_reads_paused_once_no_driver_runs
log-status-line-never-printed|tune/engine/progress.py|        elif self.bar is None and time.time() - self.logged >= self.run.log_every:|        elif False:|tests/test_after_search.py::test_a_search_in_a_log_says_its_status_every_few_seconds_and_each_closed_rung
timm-weights-not-loaded|models/zoo.py|        net.load_state_dict(imagenet)|        pass|tests/test_zoo.py::test_a_timm_backbone_starts_from_its_weights_file_frozen_or_not
weights-source-not-recorded|tune/run.py|        weights=source,|        weights=None,|tests/test_zoo.py::test_a_timm_backbone_searched_promoted_evaluated_and_predicted
table-metrics-not-the-best-epoch|tune/experiment.py|        best = best_row(history)|        best = history.iloc[-1]|tests/test_search.py::test_the_table_takes_each_trials_best_epoch_not_its_last
retry-from-scratch|tune/engine/trainable.py|    checkpoint = ray.tune.get_checkpoint()|    checkpoint = None|tests/test_faults.py::test_a_trial_that_crashes_once_is_retried_and_the_search_completes
resume-from-scratch|tune/engine/trainable.py|    checkpoint = ray.tune.get_checkpoint()|    checkpoint = None|tests/test_speed.py::test_a_time_budget_pauses_trials_at_an_epoch_end_and_resume_finishes_them_after_a_move
resume-drops-unfinished-trials|tune/engine/search.py|        resume_unfinished=True,|        resume_unfinished=False,|tests/test_speed.py::test_a_time_budget_pauses_trials_at_an_epoch_end_and_resume_finishes_them_after_a_move
resume-restarts-the-searcher|tune/engine/search.py|    def set_state(self, state: dict):|    def restore_from_dir(self, dirpath):\n        pass\n\n    def set_state(self, state: dict):|tests/test_resume.py::test_kill_9_then_resume
resume-reseeds-dropout|training/loop.py|        torch.set_rng_state(state["torch_rng"])|        pass|tests/test_resume.py::test_a_resumed_trial_trains_exactly_as_an_uninterrupted_one
folds-not-seeded|training/crossval.py|StratifiedKFold(k, shuffle=True, random_state=seed)|StratifiedKFold(k)|tests/test_probe.py::test_folds_are_disjoint_stratified_and_seeded
probe-head-not-the-regression|training/crossval.py|        head.bias.copy_(torch.tensor(classifier.intercept_, dtype=head.bias.dtype))|        pass|tests/test_probe.py::test_a_probe_network_gives_its_regressions_logits
probe-cross-validated-on-train-alone|tune/promote/probe.py|    chosen, cv, loss_by_c = crossval.choose_C(recipe, both, both_y)|    chosen, cv, loss_by_c = crossval.choose_C(recipe, feats["train"], labels["train"])|tests/test_probe.py::test_promote_fits_the_probe_on_train_and_val_and_compares_the_winner_with_it
refit-trains-on-test|tune/promote/refit.py|    (train_x, train_y), (val_x, val_y) = data["train"], data["val"]|    (train_x, train_y), (val_x, val_y) = data["train"], __import__("data_utils.prepare", fromlist=["x"]).load_tensors(exp_dir / exp["trial_settings"]["inputs"][model_name]["tensors_file"], "test")|tests/test_probe.py::test_a_refit_trains_on_train_and_val_only_and_its_model_file_runs_anywhere
top-k-picks-the-worst|tune/promote/retrain.py|.mean().sort_values("val_loss")|.mean().sort_values("val_loss", ascending=False)|tests/test_after_search.py::test_promote_top_k_retrains_and_says_who_won
baseline-on-other-images|tune/promote/scores.py|"test": test_metrics(photos.test_y, b_logits, photos.classes),|"test": test_metrics(photos.test_y, b_logits.flip(0), photos.classes),|tests/test_after_search.py::test_promote_writes_honest_test_scores
every-trial-builds-the-spaces-model|tune/engine/trainable.py|    loop = for_trial(config, settings)|    loop = for_trial({}, settings)|tests/test_pretrained_space.py::test_each_trial_trains_the_backbone_it_drew_at_its_own_input_size
members-at-one-size|tune/model_file.py|            images = images_at(size)|            images = images_at(self.image_sizes[0])|tests/test_after_search.py::test_an_ensemble_of_models_with_other_input_sizes_feeds_each_its_own
predict-label-contradicts-probability|tune/predict.py|"label": [model.classes[i] for i in outputs.predicted(logits).tolist()],|"label": [model.classes[1 - i] for i in outputs.predicted(logits).tolist()],|tests/test_after_search.py::test_predict_prints_a_probability_per_image
sigterm-like-a-crash|tune/run.py|    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGUSR1))|    pass|tests/test_faults.py::test_ctrl_c_or_sigterm_leaves_a_resumable_experiment_and_says_how[sigterm]
seeds-ignored-with-top-k-1|tune/promote/flags.py|    if args.seeds is not None and args.top_k == 1:|    if False:|tests/test_faults.py::test_every_command_rejects_bad_flags_in_one_line
ensemble-tries-only-k|tune/promote/options.py|    for size in range(2, count + 1):|    for size in range(max(2, count), count + 1):|tests/test_after_search.py::test_promote_ensemble_lets_validation_choose_and_reports_every_option
space-sizes-per-model-ignored|search_spaces/__init__.py|        size = size.get(model)|        size = None|tests/test_pretrained_space.py::test_the_space_lists_every_backbone_it_may_build
data-root-file-says-missing|data_utils/layout.py|    if not data_root.exists():|    if not data_root.is_dir():|tests/test_cli.py::test_bad_flags_are_one_line_errors
second-driver-takes-a-live-lock|tune/lock.py|                    raise running(holder, self.path.parent, self.name)|                    pass|tests/test_lock.py::test_a_second_driver_on_a_running_experiment_is_refused_and_the_first_is_undisturbed
running-search-called-interrupted|tune/run.py|    lock.refuse_if_running(exp_dir, name)  # a live driver's experiment is running, not interrupted|    pass|tests/test_lock.py::test_a_second_driver_on_a_running_experiment_is_refused_and_the_first_is_undisturbed
dead-drivers-lock-kept|tune/lock.py|        return False  # no such process: it died|        return True|tests/test_lock.py::test_resume_takes_over_the_lock_of_a_dead_driver
reused-pid-holds-the-lock|tune/lock.py|    return state != "Z" and holder.get("proc_start") in (None, started)|    return state != "Z"|tests/test_lock.py::test_a_lock_is_live_only_while_its_driver_runs
promote-unfinished-search|tune/promote/command.py|    if unfinished and not args.allow_unfinished:|    if False:|tests/test_lock.py::test_promote_refuses_an_unfinished_search_unless_allowed
budget-ended-search-unpromotable|tune/promote/gate.py|    if str(exp.ended_by or "").startswith("the time budget"):|    if False:|tests/test_lock.py::test_promote_refuses_an_unfinished_search_unless_allowed
disk-full-state-copied-in-place|tune/engine/write_guard.py|    whole_file_syncs(found.copy_failures)|    pass|tests/test_disk_full.py::test_rays_state_is_copied_whole_or_not_at_all
disk-full-results-crash|tune/run.py|        except Exception:  # still no space, or Ray's state unreadable: the line says what to do|        except ZeroDivisionError:|tests/test_disk_full.py::test_a_full_disk_mid_search_ends_in_one_line_and_resume_finishes_it
disk-full-state-renamed-alone|tune/engine/write_guard.py|                held.append((_copy_aside(entry.path, target), target))|                os.replace(_copy_aside(entry.path, target), target)|tests/test_disk_full.py::test_rays_state_is_copied_whole_or_not_at_all
trial-file-copied-once|tune/engine/write_guard.py|            if copied.get(entry.path) != stamp:|            if entry.path not in copied:|tests/test_disk_full.py::test_rays_state_is_copied_whole_or_not_at_all
disk-full-not-checked-before-start|tune/disk.py|        if free < size:|        if False:|tests/test_disk_full.py::test_a_search_that_clearly_cannot_fit_is_refused_before_anything_is_written
val-loss-smoothed|training/loop.py|        "val_loss": val["loss"],|        "val_loss": val["loss"] * 0.9 + 0.6931 * 0.1,|tests/test_recipe.py::test_a_resumed_trial_with_every_lever_trains_exactly_as_an_uninterrupted_one
ensemble-is-its-first-member|tune/model_file.py|        return outputs[0] if len(outputs) == 1 else average(outputs, weights)|        return outputs[0]|tests/test_after_search.py::test_an_ensemble_model_file_round_trips_and_averages_its_members
evaluate-labels-misaligned|tune/evaluate.py|    return by_size, labels[torch.tensor([path in kept for path in paths])]|    return by_size, labels[torch.tensor([path in kept for path in paths])].flip(0)|tests/test_after_search.py::test_evaluate_on_a_folder
predict-unreadable-exits-0|tune/predict.py|    return 1 if errors else 0|    return 0|tests/test_after_search.py::test_predict_names_an_unreadable_photo_and_exits_1
export-not-normalised|tune/export.py|        return (images.float() / 255 - self.mean) / self.std|        return images.float() / 255|tests/test_export.py::test_a_single_model_exports_and_onnxruntime_matches_pytorch
interval-not-wilson|training/metrics.py|method="wilson")|method="exact")|tests/test_metrics.py::test_accuracy_interval_is_wilsons
mcnemar-one-sided|training/metrics.py|binomtest(only_a, only_a + only_b, 0.5).pvalue|binomtest(only_a, only_a + only_b, 0.5, alternative="greater").pvalue|tests/test_metrics.py::test_mcnemar_p_value_is_the_exact_binomial_one
time-left-forgets-the-baseline|tune/engine/progress.py|        return max(baseline_left, (baseline_left + expected * other_pass) / run.at_once)|        return (baseline_left + expected * other_pass) / run.at_once|tests/test_scheduler.py::test_the_time_left_counts_the_trials_waiting_at_a_rung_and_never_less_than_the_baseline
time-left-waiting-trials-all-go-on|tune/engine/progress.py|                expected += left / factor if t.trial_id in run.waiting else left|                expected += left|tests/test_scheduler.py::test_the_time_left_counts_the_trials_waiting_at_a_rung_and_never_less_than_the_baseline
trial-on-one-thread|tune/engine/trainable.py|    torch.set_num_threads(int(cpus or settings.cpus_per_trial))|    torch.set_num_threads(1)|tests/test_search.py::test_a_trial_given_two_cpus_trains_on_two_threads
broken-pipe-traceback|tune/cli.py|    except BrokenPipeError:|    except ZeroDivisionError:|tests/test_after_search.py::test_a_table_into_a_pipe_that_closes_early_ends_quietly
lost-node-trial-not-restarted|tune/engine/search.py|            failure_config=ray.tune.FailureConfig(max_failures=1),|            failure_config=ray.tune.FailureConfig(max_failures=0),|tests/test_cluster.py::test_a_lost_node_restarts_its_trial_on_another_from_its_checkpoint
restarts-not-counted|tune/experiment.py|    row["restarts"] = int(trial.num_failures)|    row["restarts"] = 0|tests/test_cluster.py::test_a_lost_node_restarts_its_trial_on_another_from_its_checkpoint
classes-from-file-names-only|data_utils/layout.py|        return after[0]|        return None|tests/test_classes.py::test_two_classes_of_their_own_without_split_folders
evaluate-takes-other-classes|tune/evaluate.py|    if others:|    if False:|tests/test_classes.py::test_two_classes_of_their_own_without_split_folders
small-class-not-named|data_utils/splits.py|        if count < splits + 1:|        if False:|tests/test_classes.py::test_data_sets_that_cannot_be_searched_are_one_line_errors
old-model-file-refused|tune/model_file.py|    classes = list(saved.get("classes") or SMOKING_CLASSES)|    classes = list(saved["classes"])|tests/test_classes.py::test_the_smoking_data_sets_names_keep_their_labels
n-classes-one-logit|models/outputs.py|    return 1 if num_classes == 2 else num_classes|    return 1|tests/test_classes.py::test_handwritten_digits_a_real_ten_class_data_set
unclassed-not-counted|data_utils/prepare.py|    if unclassed:|    if False:|tests/test_classes.py::test_files_in_no_class_are_counted_on_the_console
space-file-not-copied|tune/run.py|        shutil.copyfile(space.__file__, staging / exp.space_file)|        pass|tests/test_space_file.py::test_a_space_file_outside_the_repository_outlives_its_file
space-baseline-unchecked|search_spaces/__init__.py|        if distribution is not None and not within(distribution, value):|        if False:|tests/test_space_file.py::test_a_space_file_with_an_error_is_one_line
partial-frozen-stages-in-train-mode|models/efficientnet.py|            part.eval()|            part.train(mode)|tests/test_partial.py::test_a_partial_trials_frozen_layers_stay_bit_identical
partial-trains-every-stage|models/efficientnet.py|        return int(parameter_name.split(".")[1]) >= first|        return True|tests/test_partial.py::test_a_partial_trials_frozen_layers_stay_bit_identical
cached-views-not-mirrored|training/features.py|    return F.horizontal_flip(batch) if mirrored else batch|    return batch|tests/test_partial.py::test_cached_activations_equal_a_fresh_forward_of_the_frozen_layers
cached-activations-in-fp32-always|training/features.py|        with precision.autocast():|        if True:|tests/test_partial.py::test_cached_activations_equal_a_fresh_forward_of_the_frozen_layers
partial-resume-loses-adam|training/loop.py|    optimizer.load_state_dict(state["optimizer"])|    pass|tests/test_partial.py::test_a_resumed_partial_trial_trains_exactly_as_an_uninterrupted_one
cache-half-written-kept|training/features.py|                partial.unlink(missing_ok=True)|                pass|tests/test_partial.py::test_the_cache_is_built_once_and_a_killed_build_leaves_nothing_half_written
baseline-takes-the-fixed-settings|tune/engine/searcher.py|        if baseline:\n            config = {**config, **getattr(self, "baseline_own", {})}|        if False:\n            pass|tests/test_scheduler.py::test_the_baseline_keeps_its_own_value_of_a_setting_the_space_fixes_for_the_others
caches-built-before-the-search|tune/run.py|    for inputs in exp.trial_settings.inputs.values():  # one size's images at a time in memory|    for model, inputs in exp.trial_settings.inputs.items():\n        if inputs.features_file:\n            from training.features import extract as _x\n            t = data.at_size(inputs.image_size)\n            torch.save(_x(model, inputs.image_size, t["train"][0], t["val"][0], precision.Precision(), cut_stages=inputs.cut_stages), staging / inputs.features_file)|tests/test_pretrained_space.py::test_each_trial_trains_the_backbone_it_drew_at_its_own_input_size
auto-one-precision-for-every-model|training/precision.py|    fastest = measured.get(model, measured["*"])|    fastest = measured["*"]|tests/test_speed.py::test_auto_takes_what_was_measured_fastest_for_the_model_on_this_kind_of_cpu
promotion-chooses-by-validation|tune/promote/cv_choice.py|        return min(covered, key=lambda o: o.cv_loss), (|        return min(covered, key=lambda o: o.val_loss), (|tests/test_partial.py::test_promotion_ranks_its_options_by_cross_validation_where_it_covers_them
cv-out-of-fold-misplaced|training/crossval.py|        oof[held] = p  # each photo in its own row|        oof[held] = p[::-1]|tests/test_partial.py::test_a_cached_trial_is_cross_validated_on_the_probes_folds_every_photo_held_out_once
space-grace-period-unchecked|search_spaces/__init__.py|        if isinstance(value, bool) or not isinstance(value, int) or value < 1:|        if False:|tests/test_space_file.py::test_a_space_file_with_an_error_is_one_line
EOF
)

printf '%-40s %-10s %s\n' "mutation" "result" "test"
failed=0
while IFS='|' read -r name file old new test; do
    if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
    copy="$SCRATCH/$name"
    mkdir -p "$copy"
    (cd "$REPO" && tar --exclude=.venv --exclude=.git --exclude=results --exclude=data -cf - .) | tar -xf - -C "$copy"
    if ! OLD="$old" NEW="$new" "$PYTHON" - "$copy/$file" <<'PY'
import os, sys
path = sys.argv[1]
old, new = (os.environ[k].replace("\\n", "\n") for k in ("OLD", "NEW"))
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"{path}: the text to mutate is not there exactly once; update tests/mutations.sh")
open(path, "w").write(text.replace(old, new))
PY
    then failed=1; continue; fi
    # The scratch copy comes first on the path (the editable install's finder comes last).
    # A mutation may make its test wait forever (a search waiting for a rung that another run's
    # state closed): after 10 minutes the test is stopped, and a test that cannot end has failed.
    (cd "$copy" && PYTHONPATH="$copy" timeout 600 "$PYTHON" -m pytest -q -x -p no:cacheprovider \
        "$test" > "$copy.log" 2>&1)
    status=$?
    if [ $status -eq 124 ]; then
        printf '%-40s %-10s %s\n' "$name" "caught" "$test (it never ended: stopped after 600 s)"
    elif [ $status -eq 0 ]; then
        printf '%-40s %-10s %s\n' "$name" "MISSED" "$test (log: kept in $REPO/mutation-$name.log)"
        cp "$copy.log" "$REPO/mutation-$name.log"
        failed=1
    elif tail -1 "$copy.log" | grep -q " failed" && grep -q "TimeoutExpired" "$copy.log"; then
        # a command of the test ran out of time: the mutation, or a busy machine? Look at the log.
        printf '%-40s %-10s %s\n' "$name" "caught" "$test (by a timeout: $REPO/mutation-$name.log)"
        cp "$copy.log" "$REPO/mutation-$name.log"
    elif tail -1 "$copy.log" | grep -q " failed" && ! tail -1 "$copy.log" | grep -q " error"; then
        printf '%-40s %-10s %s\n' "$name" "caught" "$test"
    else  # an import error or a crash of the test is not a test that caught the breakage
        printf '%-40s %-10s %s\n' "$name" "BROKEN" "$test (log: $REPO/mutation-$name.log)"
        cp "$copy.log" "$REPO/mutation-$name.log"
        failed=1
    fi
    rm -rf "$copy"
done <<< "$MUTATIONS"
exit $failed
