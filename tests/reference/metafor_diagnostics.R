# Reference values for jdmstats.meta.diagnostics and jdmstats.meta.bias.
#
# Run from the repository root:   Rscript tests/reference/metafor_diagnostics.R
# Writes tests/reference/metafor_diagnostics.json (full precision) next to this script.
#
# Grid: 6 metadat datasets x methods (EE, DL, REML) x tests (z, knha) x diagnostics
#   leave1out, influence (incl. dfbs and the "inf" flag), cumul, baujat,
#   regtest (model = "rma", predictors "sei" and "vi"), trimfill (L0 / R0, side auto/left/right).
# ranktest is computed once per dataset (it does not depend on the model's method or test).
# regtest_predictors: per dataset, REML fit with the sample sizes ni, regtest with model = "lm"
#   (classical weighted regression) and "rma" for every predictor the data allow (sei, vi, and
#   ni, ninv, sqrtni, sqrtninv where sample sizes are known).
# influence_metareg: influence() of meta-regression models (dat.bcg ~ ablat, ~ ablat + year,
#   ~ ablat - 1 (no intercept); dat.hackshaw1998 ~ year; dat.molloy2014 ~ year) x EE/DL/REML x
#   z/knha.
# regtest_mods: regtest (rma and lm; sei and vi) on REML meta-regressions (bcg ~ ablat,
#   hackshaw1998 ~ year; z and knha), where the predictor joins the model's moderators.
#
# Worked examples from metafor's own documentation that are part of the grid:
#   - influence.rma.uni help page: dat.bcg, log risk ratios, rma(yi, vi) (REML, z)
#   - trimfill help page: dat.bcg, log risk ratios, method = "EE" (L0 and R0) and REML (L0)
#   - regtest / ranktest help pages: dat.bcg, log risk ratios, REML
#   - dat.egger2001: magnesium trials, Table 18.2 of Egger, Davey Smith & Altman (2001).
#
# Notes
#   - trimfill() refits with rma.uni(..., ...) and does not pass the model's `test`; we pass
#     `test = <model test>` and the tightened `control` through `...` so that the refitted model
#     uses the same test as the original model (this is what jdmstats does).
#   - metafor fits k = 1 models (first row of cumul; leave1out with k = 2) with test = "z",
#     tau2 = 0, QE = 0, I2 = 0, H2 = 1; jdmstats reports the heterogeneity of a single study
#     as NaN (undefined). No dataset here has k = 2, so this only affects the first cumul row.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                 value = TRUE))), "_setup.R"))
out_path <- reference_path("metafor_diagnostics.json")

# Convergence tightened beyond 1e-10: with threshold = 1e-10 metafor's REML tau^2 is off by
# ~1e-10, which moves Cook's distances by up to ~1e-6 relative; 1e-13 measures our code.
ctrl <- list(threshold = 1e-13, maxiter = 10000, stepadj = 0.5)

# ---------------------------------------------------------------- datasets
dsets <- list()

d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dsets$bcg <- list(measure = "RR", yi = c(d$yi), vi = c(d$vi),
                  ni = with(d, tpos + tneg + cpos + cneg),
                  mods = list(ablat = d$ablat, year = d$year),
                  slab = paste(d$author, d$year), order_key = d$year,
                  order_desc = "publication year")

d <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)
dsets$pritz1997 <- list(measure = "PLO", yi = c(d$yi), vi = c(d$vi), ni = d$ni,
                        slab = as.character(d$authors), order_key = c(d$vi),
                        order_desc = "sampling variance (most precise first)")

d <- dat.hackshaw1998
dsets$hackshaw1998 <- list(measure = "OR", yi = c(d$yi), vi = c(d$vi),
                           mods = list(year = d$year),
                           slab = paste(d$author, d$year), order_key = d$year,
                           order_desc = "publication year")

d <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
            n2i = n2i, data = dat.normand1999)
dsets$normand1999 <- list(measure = "SMD", yi = c(d$yi), vi = c(d$vi), ni = d$n1i + d$n2i,
                          slab = as.character(d$source), order_key = -c(d$vi),
                          order_desc = "minus sampling variance (least precise first)")

d <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
dsets$molloy2014 <- list(measure = "ZCOR", yi = c(d$yi), vi = c(d$vi), ni = d$ni,
                         mods = list(year = d$year),
                         slab = paste(d$authors, d$year), order_key = d$year,
                         order_desc = "publication year")

d <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
dsets$egger2001 <- list(measure = "OR", yi = c(d$yi), vi = c(d$vi), ni = d$n1i + d$n2i,
                        slab = as.character(d$study), order_key = d$year,
                        order_desc = "publication year")

methods <- c("EE", "DL", "REML")
tests <- c("z", "knha")

# ---------------------------------------------------------------- helpers
fitsum <- function(f) {
  list(estimate = c(f$beta)[1], se = f$se[1], zval = f$zval[1], pval = f$pval[1],
       ci_lb = f$ci.lb[1], ci_ub = f$ci.ub[1], tau2 = f$tau2, QE = f$QE, QEp = f$QEp,
       I2 = f$I2, H2 = f$H2, k = f$k, s2w = f$s2w)
}

l1o <- function(f) {
  x <- leave1out(f)
  list(estimate = x$estimate, se = x$se,
       stat = if (!is.null(x$zval)) x$zval else x$tval, pval = x$pval,
       ci_lb = x$ci.lb, ci_ub = x$ci.ub, Q = x$Q, Qp = x$Qp,
       tau2 = if (!is.null(x$tau2)) x$tau2 else rep(0, length(x$estimate)),
       I2 = x$I2, H2 = x$H2)
}

infl <- function(f) {
  x <- influence(f)
  list(rstudent = x$inf$rstudent, dffits = x$inf$dffits, cook_d = x$inf$cook.d,
       cov_r = x$inf$cov.r, tau2_del = x$inf$tau2.del, QE_del = x$inf$QE.del,
       hat = x$inf$hat, weight = x$inf$weight, dfbs = x$dfbs$intrcpt,
       inf = x$is.infl)
}

cum <- function(f, key) {
  x <- do.call(cumul, list(f, order = key))
  ord <- order(key)
  list(order = ord, estimate = x$estimate, se = x$se,
       stat = if (!is.null(x$zval)) x$zval else x$tval, pval = x$pval,
       ci_lb = x$ci.lb, ci_ub = x$ci.ub, Q = x$Q, Qp = x$Qp,
       tau2 = if (!is.null(x$tau2)) x$tau2 else rep(0, length(x$estimate)),
       I2 = x$I2, H2 = x$H2)
}

bj <- function(f) {
  pdf(NULL)
  on.exit(dev.off())
  x <- baujat(f)
  list(x = x$x, y = x$y)
}

rt <- function(f, predictor) {
  x <- regtest(f, model = "rma", predictor = predictor)
  list(zval = x$zval, pval = x$pval, ddf = x$ddf, est = unname(x$est),
       ci_lb = unname(x$ci.lb), ci_ub = unname(x$ci.ub),
       slope = unname(coef(x$fit)[2]), slope_se = x$fit$se[2], tau2 = x$fit$tau2)
}

tf <- function(f, estimator, side) {
  x <- if (is.null(side)) {
    trimfill(f, estimator = estimator, control = ctrl, test = f$test)
  } else {
    trimfill(f, estimator = estimator, side = side, control = ctrl, test = f$test)
  }
  fill <- x$fill
  c(list(k0 = x$k0, se_k0 = x$se.k0, side = x$side, p_k0 = x$p.k0,
         fill_yi = c(x$yi)[fill], fill_vi = c(x$vi)[fill]),
    list(refit = fitsum(x)))
}

# ---------------------------------------------------------------- grid
cases <- list()
for (dn in names(dsets)) {
  ds <- dsets[[dn]]
  for (m in methods) {
    for (tt in tests) {
      f <- suppressWarnings(rma(ds$yi, ds$vi, method = m, test = tt, control = ctrl))
      trim <- list()
      for (est in c("L0", "R0")) {
        for (sd in c("auto", "left", "right")) {
          trim[[paste0(est, "_", sd)]] <- suppressWarnings(
            tf(f, est, if (sd == "auto") NULL else sd))
        }
      }
      cases[[length(cases) + 1]] <- list(
        dataset = dn, method = m, test = tt,
        fit = fitsum(f),
        leave1out = suppressWarnings(l1o(f)),
        influence = suppressWarnings(infl(f)),
        cumul = suppressWarnings(cum(f, ds$order_key)),
        baujat = suppressWarnings(bj(f)),
        regtest = list(sei = suppressWarnings(rt(f, "sei")),
                       vi = suppressWarnings(rt(f, "vi"))),
        trimfill = trim
      )
    }
  }
}

rank <- list()
for (dn in names(dsets)) {
  ds <- dsets[[dn]]
  f <- rma(ds$yi, ds$vi, method = "REML", control = ctrl)
  x <- suppressWarnings(ranktest(f))
  ties <- length(unique(ds$vi)) < length(ds$vi)
  xa <- suppressWarnings(ranktest(f, exact = FALSE))
  rank[[dn]] <- list(tau = unname(x$tau), pval = x$pval, exact = !ties,
                     pval_normal = xa$pval)
}

rt_sum <- function(x) {  # the predictor is the model's last coefficient
  cf <- coef(x$fit)
  j <- length(cf)
  slope_se <- if (x$model == "lm") coef(summary(x$fit))[j, 2] else x$fit$se[j]
  list(zval = x$zval, pval = x$pval, ddf = x$ddf, est = x$est, ci_lb = x$ci.lb,
       ci_ub = x$ci.ub, slope = unname(cf[j]), slope_se = slope_se)
}
regtest_predictors <- list()
for (dn in names(dsets)) {
  ds <- dsets[[dn]]
  preds <- if (is.null(ds$ni)) c("sei", "vi") else
    c("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")
  f <- if (is.null(ds$ni)) rma(ds$yi, ds$vi, method = "REML", control = ctrl) else
    rma(ds$yi, ds$vi, ni = ds$ni, method = "REML", control = ctrl)
  regtest_predictors[[dn]] <- lapply(setNames(preds, preds), function(pr) list(
    lm = rt_sum(regtest(f, model = "lm", predictor = pr)),
    rma = rt_sum(regtest(f, model = "rma", predictor = pr))))
}

infl_mr <- function(f) {
  x <- influence(f)
  list(rstudent = x$inf$rstudent, dffits = x$inf$dffits, cook_d = x$inf$cook.d,
       cov_r = x$inf$cov.r, tau2_del = x$inf$tau2.del, QE_del = x$inf$QE.del,
       hat = x$inf$hat, weight = x$inf$weight,
       dfbs = lapply(unclass(x$dfbs)[seq_len(f$p)], unname), inf = x$is.infl)
}
mr_specs <- list(list(dataset = "bcg", mods = "ablat"),
                 list(dataset = "bcg", mods = c("ablat", "year")),
                 list(dataset = "hackshaw1998", mods = "year"),
                 list(dataset = "molloy2014", mods = "year"),
                 list(dataset = "bcg", mods = "ablat", intercept = FALSE))
influence_metareg <- list()
for (sp in mr_specs) {
  ds <- dsets[[sp$dataset]]
  M <- do.call(cbind, ds$mods[sp$mods])
  icpt <- is.null(sp$intercept) || sp$intercept
  for (m in methods) {
    for (tt in tests) {
      f <- suppressWarnings(rma(ds$yi, ds$vi, mods = M, intercept = icpt, method = m,
                                test = tt, control = ctrl))
      influence_metareg[[length(influence_metareg) + 1]] <- list(
        dataset = sp$dataset, mods = sp$mods, intercept = icpt, method = m, test = tt,
        beta = c(f$beta), tau2 = f$tau2, influence = suppressWarnings(infl_mr(f)))
    }
  }
}

# regtest on meta-regression models: the predictor is added to the model's moderators
regtest_mods <- list()
for (sp in mr_specs[c(1, 3)]) {
  ds <- dsets[[sp$dataset]]
  M <- do.call(cbind, ds$mods[sp$mods])
  for (tt in tests) {
    f <- rma(ds$yi, ds$vi, mods = M, method = "REML", test = tt, control = ctrl)
    for (pr in c("sei", "vi")) {
      for (md in c("rma", "lm")) {
        regtest_mods[[length(regtest_mods) + 1]] <- c(
          list(dataset = sp$dataset, mods = sp$mods, test = tt, predictor = pr, model = md),
          rt_sum(regtest(f, model = md, predictor = pr)))
      }
    }
  }
}

out <- list(
  versions = list(R = R.version.string,
                  metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  control = ctrl,
  grid = list(datasets = names(dsets), methods = methods, tests = tests,
              trimfill = c("L0_auto", "L0_left", "L0_right", "R0_auto", "R0_left", "R0_right"),
              regtest = c("sei", "vi")),
  datasets = dsets,
  cases = cases,
  ranktest = rank,
  regtest_predictors = regtest_predictors,
  influence_metareg = influence_metareg,
  regtest_mods = regtest_mods
)

write_json(out, out_path, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
cat("wrote", out_path, "\n")
