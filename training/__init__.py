"""Training and scoring, with no Ray in it: the loop one trial runs (`loop`), the precision it
computes in (`precision`), a frozen backbone's cached features (`features`, `probe`), k-fold
cross-validation of probes over train + val (`crossval`) and the figures a test reports
(`metrics`). The trial, promotion and the benchmarks all call it."""
