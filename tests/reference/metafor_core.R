# Reference values for jdmstats.meta (random_effects, metareg, subgroup_analysis,
# permutation_test) from metafor.  Run from the repository root:
#     Rscript tests/reference/metafor_core.R
# Writes tests/reference/metafor_core.json (full precision) next to this script.
suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
out <- file.path(outdir, "metafor_core.json")

ctrl <- list(threshold = 1e-10, maxiter = 1000, tol = 1e-12)
ci_ctrl <- list(tol = 1e-12)
methods <- c("EE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB")
tests <- c("z", "knha")
adhoc_datasets <- c("bcg_RR", "normand_MD", "pritz_PLO")

# ---------------------------------------------------------------- datasets (yi, vi)
ds <- list()
add <- function(name, es, source, measure) {
  ds[[name]] <<- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi),
                      source = source, measure = measure)
}
add("bcg_RR", escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg),
    "dat.bcg", "RR")
add("normand_MD", escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                         n2i = n2i, data = dat.normand1999), "dat.normand1999", "MD")
add("normand_SMD", escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                          n2i = n2i, data = dat.normand1999), "dat.normand1999", "SMD")
add("molloy_ZCOR", escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014),
    "dat.molloy2014", "ZCOR")
add("hackshaw_OR", dat.hackshaw1998, "dat.hackshaw1998", "OR (yi, vi as supplied)")
add("raudenbush_SMD", dat.raudenbush1985, "dat.raudenbush1985", "SMD (yi, vi as supplied)")
add("pritz_PLO", escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997), "dat.pritz1997", "PLO")
add("pritz_PR", escalc("PR", xi = xi, ni = ni, data = dat.pritz1997), "dat.pritz1997", "PR")
add("debruin_PLO", escalc("PLO", xi = xi, ni = ni, data = dat.debruin2009),
    "dat.debruin2009", "PLO")
add("nielweise_OR", escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,
                           data = dat.nielweise2007), "dat.nielweise2007",
    "OR (zero cells: add=1/2 to='only0')")
add("nielweise_PLO", escalc("PLO", xi = ai, ni = n1i, data = dat.nielweise2007),
    "dat.nielweise2007 (treated arm)", "PLO (zero events: add=1/2 to='only0')")
b <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg_k2", b[1:2, ], "dat.bcg studies 1-2", "RR")

num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

# ---------------------------------------------------------------- univariate models
uni <- list()
for (d in names(ds)) {
  tt <- if (d %in% adhoc_datasets) c(tests, "adhoc") else tests
  for (m in methods) for (t in tt) {
    r <- suppressWarnings(rma(ds[[d]]$yi, ds[[d]]$vi, method = m, test = t, control = ctrl))
    pr <- predict(r)
    row <- list(dataset = d, method = m, test = t, k = r$k,
                estimate = num(r$beta), se = num(r$se), statistic = num(r$zval),
                pvalue = num(r$pval), ci_low = num(r$ci.lb), ci_high = num(r$ci.ub),
                pi_low = num(pr$pi.lb), pi_high = num(pr$pi.ub), tau2 = num(r$tau2),
                se_tau2 = num(r$se.tau2), i2 = num(r$I2), h2 = num(r$H2), q = num(r$QE),
                q_pvalue = num(r$QEp), weights = as.numeric(weights(r)))
    if (m != "EE") {
      ci <- confint(r, control = ci_ctrl)$random
      row$tau2_ci_low <- ci["tau^2", "ci.lb"]; row$tau2_ci_high <- ci["tau^2", "ci.ub"]
      row$i2_ci_low <- ci["I^2(%)", "ci.lb"]; row$i2_ci_high <- ci["I^2(%)", "ci.ub"]
      row$h2_ci_low <- ci["H^2", "ci.lb"]; row$h2_ci_high <- ci["H^2", "ci.ub"]
    }
    uni[[length(uni) + 1]] <- row
  }
}

# ---------------------------------------------------------------- meta-regression
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ds$bcg_RR$ablat <- bcg$ablat
ds$bcg_RR$year <- bcg$year
ds$bcg_RR$alloc <- as.character(bcg$alloc)
reg_rows <- list()
reg_case <- function(name, formula, newmods, m, t) {
  r <- suppressWarnings(rma(yi, vi, mods = formula, data = bcg, method = m, test = t,
                            control = ctrl))
  pr <- predict(r, newmods = newmods)
  list(case = name, method = m, test = t, coef_names = rownames(r$beta),
       estimate = num(r$beta), se = num(r$se), statistic = num(r$zval), pvalue = num(r$pval),
       ci_low = num(r$ci.lb), ci_high = num(r$ci.ub), tau2 = num(r$tau2),
       se_tau2 = num(r$se.tau2), qm = num(r$QM), qm_df = num(r$QMdf), qm_pvalue = num(r$QMp),
       qe = num(r$QE), qe_pvalue = num(r$QEp), r2 = num(r$R2), i2 = num(r$I2), h2 = num(r$H2),
       pred = num(pr$pred), pred_se = num(pr$se), pred_ci_low = num(pr$ci.lb),
       pred_ci_high = num(pr$ci.ub), pred_pi_low = num(pr$pi.lb), pred_pi_high = num(pr$pi.ub))
}
new_ay <- cbind(ablat = c(10, 30, 50), year = c(1950, 1970, 1980))
new_alloc <- rbind(c(0, 0), c(1, 0), c(0, 1))  # alternate (reference), random, systematic
for (m in methods) for (t in tests) {
  reg_rows[[length(reg_rows) + 1]] <- reg_case("bcg_ablat_year", ~ ablat + year, new_ay, m, t)
  reg_rows[[length(reg_rows) + 1]] <- reg_case("bcg_alloc", ~ factor(alloc), new_alloc, m, t)
}
new_ay_pred <- list(ablat = c(10, 30, 50), year = c(1950, 1970, 1980))
new_alloc_pred <- c("alternate", "random", "systematic")

# ---------------------------------------------------------------- subgroups (bcg by alloc)
sub_rows <- list()
for (m in c("DL", "REML")) for (t in tests) {
  lev <- c("random", "alternate", "systematic")  # order of first appearance
  fits <- lapply(lev, function(g) rma(yi, vi, data = bcg, subset = alloc == g, method = m,
                                      test = t, control = ctrl))
  est <- sapply(fits, function(f) f$beta[1]); se <- sapply(fits, function(f) f$se)
  qb <- rma(est, sei = se, method = "EE")
  mr <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = m, test = t, control = ctrl)
  sub_rows[[length(sub_rows) + 1]] <- list(
    method = m, test = t, groups = lev, estimate = est, se = se,
    ci_low = sapply(fits, function(f) f$ci.lb), ci_high = sapply(fits, function(f) f$ci.ub),
    tau2 = sapply(fits, function(f) f$tau2), q_between = qb$QE, q_between_pvalue = qb$QEp,
    qm = mr$QM, qm_pvalue = mr$QMp)
}

# ---------------------------------------------------------------- permutation tests
perm <- list()
r <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML", control = ctrl)
set.seed(20240601)
pt <- permutest(r, iter = 1000, progbar = FALSE)
perm$approx_bcg_ablat_REML <- list(method = "REML", test = "z", iter = 1000, exact = FALSE,
                                   statistic = num(r$zval), qm = r$QM,
                                   pvalue = num(pt$pval), qm_pvalue = pt$QMp)
r6 <- rma(yi, vi, mods = ~ ablat, data = bcg[1:6, ], method = "DL", control = ctrl)
pt6 <- permutest(r6, exact = TRUE, progbar = FALSE)
perm$exact_bcg6_ablat_DL <- list(method = "DL", test = "z", iter = length(pt6$QM.perm),
                                 exact = TRUE, statistic = num(r6$zval), qm = r6$QM,
                                 pvalue = num(pt6$pval), qm_pvalue = pt6$QMp,
                                 yi = as.numeric(bcg$yi[1:6]), vi = as.numeric(bcg$vi[1:6]),
                                 ablat = bcg$ablat[1:6])
r6k <- rma(yi, vi, mods = ~ ablat, data = bcg[1:6, ], method = "REML", test = "knha",
           control = ctrl)
pt6k <- permutest(r6k, exact = TRUE, progbar = FALSE)
perm$exact_bcg6_ablat_REML_knha <- list(method = "REML", test = "knha",
                                        iter = length(pt6k$QM.perm), exact = TRUE,
                                        statistic = num(r6k$zval), qm = r6k$QM,
                                        pvalue = num(pt6k$pval), qm_pvalue = pt6k$QMp)
ri <- rma(c(0.3, 0.5, 0.1, 0.6, 0.4), rep(0.02, 5), method = "DL")
pti <- permutest(ri, exact = TRUE, progbar = FALSE)
perm$exact_intercept_only_DL <- list(method = "DL", test = "z", iter = length(pti$QM.perm),
                                     exact = TRUE, statistic = num(ri$zval), qm = ri$QM,
                                     pvalue = num(pti$pval), qm_pvalue = pti$QMp,
                                     yi = c(0.3, 0.5, 0.1, 0.6, 0.4), vi = rep(0.02, 5))

res <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  control = ctrl,
  grid = list(datasets = names(ds), methods = methods, tests = tests,
              adhoc_datasets = adhoc_datasets,
              metareg_cases = c("bcg_ablat_year", "bcg_alloc")),
  datasets = ds,
  newmods = list(bcg_ablat_year = new_ay_pred, bcg_alloc = new_alloc_pred),
  univariate = uni,
  metareg = reg_rows,
  subgroup = sub_rows,
  permutation = perm
)
write_json(res, out, digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", out, "\n")
