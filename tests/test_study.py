"""Where a search's Optuna study is kept (tune/study.py): a new experiment's in Optuna's journal
file, which answers a suggestion without reading every waiting trial back; an experiment from
before keeps its SQLite file and is read from it."""

import optuna

from tune import study


def test_a_new_experiment_keeps_its_study_in_a_journal_an_older_one_in_sqlite(tmp_path):
    new, old = tmp_path / "new", tmp_path / "old"
    new.mkdir(), old.mkdir()
    assert study.load(new) is None  # no study yet
    optuna.create_study(storage=study.storage(new), study_name="new").set_user_attr("was", 1)
    assert isinstance(study.storage(new), optuna.storages.JournalStorage)
    assert study.study_file(new) == new / "optuna.journal" and study.study_file(new).is_file()
    sqlite = optuna.storages.RDBStorage(f"sqlite:///{old / 'optuna.db'}")
    optuna.create_study(storage=sqlite, study_name="old").set_user_attr("was", 2)
    assert isinstance(study.storage(old), optuna.storages.RDBStorage)
    assert study.load(old).study_name == "old" and study.load(new).study_name == "new"
    assert study.load(old).user_attrs == {"was": 2} and study.load(new).user_attrs == {"was": 1}
