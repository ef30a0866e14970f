# Reference values for the metafor extensions of jdmstats.meta (issue #20):
#   escalc   RR, OR, RD, AS, PETO, YUQ, YUY (2x2), IRR, IRD (rates), ROM, with add/to/drop00
#   rma.mh   Mantel-Haenszel OR, RR, RD, IRR, IRD (with CMH, Breslow-Day, Tarone)
#   rma.peto Peto's method
#   rma.uni  test = "t"; tau2 estimators HS, HSk, GENQ (with weights), PMM, DLIT, SJIT
#   confint  type = "PL" (profile likelihood) for ML and REML
#   fsn, tes fail-safe N and the test of excess significance
# Run from the repository root:
#     Rscript tests/reference/metafor_ext.R
# Writes tests/reference/metafor_ext.json (17 significant digits) next to this script.
#
# Convergence controls: rma.uni iterative estimators use `threshold` (Fisher scoring, DLIT, SJIT)
# and `tol` (uniroot: PM, PMM); both are set tight below, with maxiter = 10000.  confint uses
# `tol` (uniroot of the Q-profile / profile likelihood).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE))), "_setup.R"))
out <- reference_path("metafor_ext.json")
ctrl <- list(threshold = 1e-13, tol = 1e-13, maxiter = 10000)
num <- function(x) if (is.null(x)) NA_real_ else as.numeric(x)

# ---------------------------------------------------------------- data
bcg <- dat.bcg
yus <- dat.yusuf1985[dat.yusuf1985$table == "9" & !is.na(dat.yusuf1985$ai), ]
yus$bi <- yus$n1i - yus$ai
yus$di <- yus$n2i - yus$ci
hart <- dat.hart1999
hart0 <- hart
hart0$x1i[1] <- 0L                   # a single zero cell
hart0$x1i[2] <- 0L; hart0$x2i[2] <- 0L  # a double zero
curtis <- dat.curtis1998

tables <- list(
  bcg = list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg),
  yusuf9 = list(ai = yus$ai, bi = yus$bi, ci = yus$ci, di = yus$di)
)
rates <- list(
  hart = list(x1i = hart$x1i, t1i = hart$t1i, x2i = hart$x2i, t2i = hart$t2i),
  hart0 = list(x1i = hart0$x1i, t1i = hart0$t1i, x2i = hart0$x2i, t2i = hart0$t2i)
)
means <- list(curtis = list(m1i = curtis$m1i, sd1i = curtis$sd1i, n1i = curtis$n1i,
                            m2i = curtis$m2i, sd2i = curtis$sd2i, n2i = curtis$n2i))

# ---------------------------------------------------------------- escalc
es_rows <- list()
es_add <- function(dataset, measure, opts, es) {
  es_rows[[length(es_rows) + 1]] <<- c(list(dataset = dataset, measure = measure),
                                       opts, list(yi = num(es$yi), vi = num(es$vi)))
}
cc_opts <- list(list(), list(drop00 = TRUE), list(to = "all"), list(to = "if0all"),
                list(add = 1), list(to = "none", add = 0))
for (d in names(tables)) for (m in c("OR", "RR", "RD", "AS", "PETO", "YUQ", "YUY")) {
  for (o in cc_opts) {
    if (d == "yusuf9" && identical(o$to, "none") && m != "RD" && m != "AS") next
    es <- do.call(escalc, c(list(measure = m), tables[[d]], o))
    es_add(d, m, o, es)
  }
}
for (d in names(tables)) for (vt in c("UB", "AV")) {
  es_add(d, "RD", list(vtype = vt, drop00 = TRUE),
         do.call(escalc, c(list(measure = "RD", vtype = vt, drop00 = TRUE), tables[[d]])))
}
for (d in names(rates)) for (m in c("IRR", "IRD")) for (o in cc_opts[1:5]) {
  es_add(d, m, o, do.call(escalc, c(list(measure = m), rates[[d]], o)))
}
for (vt in c("LS", "HO", "AV", "AVHO")) {
  es_add("curtis", "ROM", list(vtype = vt),
         do.call(escalc, c(list(measure = "ROM", vtype = vt), means$curtis)))
}

# ---------------------------------------------------------------- Mantel-Haenszel, Peto
mh_fields <- function(r) {
  f <- list(estimate = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
            ci_low = num(r$ci.lb), ci_high = num(r$ci.ub), q = num(r$QE), q_pvalue = num(r$QEp),
            i2 = num(r$I2), h2 = num(r$H2), k = num(r$k), k_yi = num(r$k.yi))
  for (nm in c("CO", "COp", "MH", "MHp", "BD", "BDp", "TA", "TAp", "k.pos"))
    f[[gsub(".", "_", nm, fixed = TRUE)]] <- num(r[[nm]])
  f
}
mh_rows <- list()
for (d in names(tables)) for (m in c("OR", "RR", "RD")) for (cor in c(TRUE, FALSE)) {
  for (o in list(list(), list(drop00 = FALSE), list(to = "all"), list(add = 0))) {
    r <- suppressWarnings(do.call(rma.mh, c(list(measure = m, correct = cor), tables[[d]], o)))
    mh_rows[[length(mh_rows) + 1]] <- c(list(dataset = d, measure = m, correct = cor), o,
                                        mh_fields(r))
  }
}
for (d in names(rates)) for (m in c("IRR", "IRD")) for (cor in c(TRUE, FALSE)) {
  r <- suppressWarnings(do.call(rma.mh, c(list(measure = m, correct = cor), rates[[d]])))
  mh_rows[[length(mh_rows) + 1]] <- c(list(dataset = d, measure = m, correct = cor),
                                      mh_fields(r))
}
peto_rows <- list()
for (d in names(tables)) {
  for (o in list(list(), list(drop00 = FALSE), list(level = 90))) {
    r <- suppressWarnings(do.call(rma.peto, c(tables[[d]], o)))
    peto_rows[[length(peto_rows) + 1]] <- c(list(dataset = d), o, mh_fields(r))
  }
}

# ---------------------------------------------------------------- rma.uni: test = "t", estimators
uni_data <- list(
  bcg_RR = escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg),
  normand_MD = escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i,
                      n2i = n2i, data = dat.normand1999),
  hackshaw_OR = dat.hackshaw1998,
  raudenbush_SMD = dat.raudenbush1985,
  pritz_PLO = escalc("PLO", xi = xi, ni = ni, data = dat.pritz1997),
  molloy_ZCOR = escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
)
uni_data <- lapply(uni_data, function(d) list(yi = as.numeric(d$yi), vi = as.numeric(d$vi)))
uni_fields <- function(r) {
  pr <- predict(r)
  list(k = r$k, estimate = num(r$beta), se = num(r$se), statistic = num(r$zval),
       pvalue = num(r$pval), ci_low = num(r$ci.lb), ci_high = num(r$ci.ub),
       pi_low = num(pr$pi.lb), pi_high = num(pr$pi.ub), tau2 = num(r$tau2),
       se_tau2 = num(r$se.tau2), i2 = num(r$I2), h2 = num(r$H2), q = num(r$QE),
       q_pvalue = num(r$QEp), weights = as.numeric(weights(r)))
}
uni_rows <- list()
new_methods <- c("HS", "HSk", "PMM", "DLIT", "SJIT", "GENQ", "GENQ_ivw", "DL", "REML", "PM")
for (d in names(uni_data)) for (m in new_methods) for (t in c("z", "t", "knha")) {
  yi <- uni_data[[d]]$yi; vi <- uni_data[[d]]$vi
  w <- NULL; meth <- m
  if (m == "GENQ") w <- 1 / sqrt(vi)
  if (m == "GENQ_ivw") { w <- 1 / vi; meth <- "GENQ" }
  r <- tryCatch(if (is.null(w)) rma(yi, vi, method = meth, test = t, control = ctrl)
                else rma(yi, vi, method = meth, test = t, weights = w, control = ctrl),
                error = function(e) conditionMessage(e))
  row <- list(dataset = d, method = m, test = t)
  if (is.character(r) && m == "REML") {  # Fisher scoring cannot reach 1e-13 on normand: 1e-10
    row$threshold <- 1e-10
    r <- rma(yi, vi, method = meth, test = t, control = modifyList(ctrl, list(threshold = 1e-10)))
  }
  if (is.character(r) && m == "DLIT") {
    # normand: tau2 ~ 346, an absolute change of 1e-13 is below double precision -> 1e-11;
    # hackshaw: the iteration truly oscillates (0 <-> 0.017) and metafor stops with an error
    r2 <- tryCatch(rma(yi, vi, method = meth, test = t,
                       control = modifyList(ctrl, list(threshold = 1e-11))),
                   error = function(e) conditionMessage(e))
    if (!is.character(r2)) { r <- r2; row$threshold <- 1e-11 }
  }
  if (is.character(r)) {
    row$error <- r
  } else {
    row <- c(row, uni_fields(r))
    if (m != "GENQ_ivw" && m != "GENQ") {
      ci <- confint(r, control = list(tol = 1e-13))$random
      row$tau2_ci_low <- ci["tau^2", "ci.lb"]; row$tau2_ci_high <- ci["tau^2", "ci.ub"]
    }
  }
  uni_rows[[length(uni_rows) + 1]] <- row
}

reg_rows <- list()
bcg_es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
reg_data <- list(yi = as.numeric(bcg_es$yi), vi = as.numeric(bcg_es$vi), ablat = bcg_es$ablat,
                 year = bcg_es$year)
reg_data$w <- 1 / sqrt(reg_data$vi)
for (m in c("HS", "HSk", "PMM", "DLIT", "SJIT", "DL", "REML", "GENQ", "DL_w")) for (t in c("z", "t", "knha")) {
  r <- tryCatch(
    if (m == "GENQ") rma(yi, vi, mods = ~ ablat + year, data = reg_data, method = m, test = t,
                         weights = w, control = ctrl)
    else if (m == "DL_w") rma(yi, vi, mods = ~ ablat + year, data = reg_data, method = "DL",
                              test = t, weights = w, control = ctrl)
    else rma(yi, vi, mods = ~ ablat + year, data = reg_data, method = m, test = t,
             control = ctrl), error = function(e) conditionMessage(e))
  row <- list(method = m, test = t)
  if (is.character(r)) {
    row$error <- r
  } else {
    row <- c(row, list(coef = num(r$beta), se = num(r$se), statistic = num(r$zval),
                       pvalue = num(r$pval), ci_low = num(r$ci.lb), ci_high = num(r$ci.ub),
                       qm = num(r$QM), qm_pvalue = num(r$QMp), qe = num(r$QE),
                       tau2 = num(r$tau2), se_tau2 = num(r$se.tau2), r2 = num(r$R2),
                       i2 = num(r$I2), h2 = num(r$H2)))
  }
  reg_rows[[length(reg_rows) + 1]] <- row
}

# ---------------------------------------------------------------- edge cases
# (a) Q-profile upper bound beyond the search limit max(100, 10 tau2): metafor prints ">"
wide <- list(yi = c(0, 30, 60), vi = c(1, 1, 1))
edge <- list()
for (m in c("DL", "REML")) {
  r <- rma(wide$yi, wide$vi, method = m, control = ctrl)
  ci <- confint(r, control = list(tol = 1e-13))
  edge[[paste0("wide_", m)]] <- list(tau2 = r$tau2, tau2_ci_low = ci$random["tau^2", "ci.lb"],
                                     tau2_ci_high = ci$random["tau^2", "ci.ub"],
                                     lb_sign = ci$lb.sign, ub_sign = ci$ub.sign)
}
# (b) dat.lau1992 ~ year (ML): tau2 is numerically 0 in both models; metafor's R2 is noise
lau <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lau1992)
lau_fit <- function(control, mods = TRUE) {
  if (mods) rma(yi, vi, mods = ~ year, data = lau, method = "ML", control = control)
  else rma(yi, vi, data = lau, method = "ML", control = control)
}
edge$lau <- list(yi = as.numeric(lau$yi), vi = as.numeric(lau$vi), year = lau$year,
                 r2_default = lau_fit(list())$R2, tau2_default = lau_fit(list())$tau2,
                 tau2_0_default = lau_fit(list(), FALSE)$tau2,
                 r2_tight = lau_fit(ctrl)$R2, tau2_tight = lau_fit(ctrl)$tau2,
                 tau2_0_tight = lau_fit(ctrl, FALSE)$tau2)
# (d) rma.glmm log-likelihood conventions (nAGQ = 1 and 7):
#     lme4 logLik(res.ML): nAGQ = 1 the Laplace marginal log-likelihood with binomial
#     constants; nAGQ > 1 the same minus ll(saturated binomial model);
#     metafor's logLik(): ll(saturated) - deviance(glmer) / 2 (not a marginal likelihood)
glmm_ctrl <- list(glmerCtrl = list(optimizer = "bobyqa",  # as metafor_proportions.R
                                   optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                                   tolPwrss = 1e-12))
glmm_ll <- list()
for (nm in c("pritz1997", "debruin2009", "hannum2020")) for (q in c(1, 7)) {
  d <- get(paste0("dat.", nm))
  r <- rma.glmm(measure = "PLO", xi = xi, ni = ni, data = d, retfit = TRUE, nAGQ = q,
                control = glmm_ctrl)
  glmm_ll[[length(glmm_ll) + 1]] <- list(
    dataset = nm, nAGQ = q, xi = d$xi, ni = d$ni, loglik_metafor = c(logLik(r)),
    loglik_lme4 = c(logLik(r$res.ML)), aic_metafor = AIC(r), deviance_lme4 = deviance(r$res.ML),
    ll_saturated = sum(dbinom(d$xi, d$ni, d$xi / d$ni, log = TRUE)))
}
edge$glmm_loglik <- glmm_ll

# ---------------------------------------------------------------- confint(type = "PL")
pl_rows <- list()
pl_fields <- function(ci) {
  rr <- ci$random
  list(tau2 = rr["tau^2", "estimate"], tau2_ci_low = rr["tau^2", "ci.lb"],
       tau2_ci_high = rr["tau^2", "ci.ub"], i2_ci_low = rr["I^2(%)", "ci.lb"],
       i2_ci_high = rr["I^2(%)", "ci.ub"], h2_ci_low = rr["H^2", "ci.lb"],
       h2_ci_high = rr["H^2", "ci.ub"], lb_sign = ci$lb.sign, ub_sign = ci$ub.sign)
}
for (d in names(uni_data)) for (m in c("ML", "REML")) for (lev in c(95, 90)) {
  yi <- uni_data[[d]]$yi; vi <- uni_data[[d]]$vi
  r <- tryCatch(rma(yi, vi, method = m, level = lev, control = ctrl),
                error = function(e) rma(yi, vi, method = m, level = lev,
                                        control = modifyList(ctrl, list(threshold = 1e-10))))
  ci <- confint(r, type = "PL", control = list(tol = 1e-13))
  pl_rows[[length(pl_rows) + 1]] <- c(list(dataset = d, method = m, level = lev), pl_fields(ci))
}
for (m in c("ML", "REML")) {
  r <- rma(yi, vi, mods = ~ ablat + year, data = reg_data, method = m, control = ctrl)
  ci <- confint(r, type = "PL", control = list(tol = 1e-13))
  pl_rows[[length(pl_rows) + 1]] <- c(list(dataset = "bcg_metareg", method = m, level = 95),
                                      pl_fields(ci))
}
r <- rma(wide$yi, wide$vi, method = "REML", control = ctrl)
pl_rows[[length(pl_rows) + 1]] <- c(list(dataset = "wide", method = "REML", level = 95),
                                    pl_fields(confint(r, type = "PL",
                                                      control = list(tol = 1e-13))))

# ---------------------------------------------------------------- fsn, tes
fsn_rows <- list()
fsn_sets <- c("bcg_RR", "hackshaw_OR", "raudenbush_SMD")
fsn_opts <- list(list(type = "Rosenthal"), list(type = "Rosenthal", test = "Fisher"),
                 list(type = "Rosenthal", alpha = 0.01), list(type = "Orwin"),
                 list(type = "Orwin", weighted = TRUE), list(type = "Orwin", target = 0.05),
                 list(type = "Orwin", target = -0.05, weighted = TRUE),
                 list(type = "Rosenberg"), list(type = "Rosenberg", alpha = 0.1))
for (d in fsn_sets) for (o in fsn_opts) {
  r <- do.call(fsn, c(list(yi = uni_data[[d]]$yi, vi = uni_data[[d]]$vi), o))
  fsn_rows[[length(fsn_rows) + 1]] <- c(list(dataset = d), o,
    list(fsnum = num(r$fsnum), pval = num(r$pval), meanes = num(r$meanes),
         target_out = num(r$target)))
}
tes_rows <- list()
tes_opts <- list(list(), list(test = "chi2"), list(test = "binom"),
                 list(tes.alternative = "two.sided"), list(alternative = "greater"),
                 list(theta = 0.2), list(H0 = 0.1, alpha = 0.1))
for (d in c("bcg_RR", "hackshaw_OR", "raudenbush_SMD")) for (o in tes_opts) {
  for (tt in list(NULL, "REML")) {
    yi <- uni_data[[d]]$yi; vi <- uni_data[[d]]$vi
    args <- c(list(x = yi, vi = vi, progbar = FALSE, rel.tol = 1e-12, find.lim = FALSE), o)
    if (!is.null(tt)) {
      fit <- rma(yi, vi, method = tt, control = ctrl)
      args$tau2 <- fit$tau2
      if (is.null(o$theta)) args$theta <- c(fit$beta)
    }
    r <- do.call(tes, args)
    tes_rows[[length(tes_rows) + 1]] <- c(list(dataset = d, with_tau2 = !is.null(tt)), o,
      list(tau2 = if (is.null(tt)) NA_real_ else args$tau2,
           theta_used = if (is.null(args$theta)) NA_real_ else args$theta,
           O = r$O, E = r$E, OEratio = r$OEratio, test_used = r$test, X2 = num(r$X2),
           pval = r$pval, power = as.numeric(r$power), sig = as.logical(r$sig)))
  }
}

# ---------------------------------------------------------------- diagnostics with test = "t"
tdiag <- list()
for (d in c("bcg_RR", "hackshaw_OR")) for (m in c("REML", "DL")) {
  yi <- uni_data[[d]]$yi; vi <- uni_data[[d]]$vi
  r <- rma(yi, vi, method = m, test = "t", control = ctrl)
  l1 <- leave1out(r)
  cu <- cumul(r)
  inf <- influence(r)$inf
  rt <- regtest(r)
  tdiag[[length(tdiag) + 1]] <- list(dataset = d, method = m,
    l1_estimate = num(l1$estimate), l1_se = num(l1$se), l1_tval = num(l1$tval),
    l1_pval = num(l1$pval), l1_ci_low = num(l1$ci.lb), l1_ci_high = num(l1$ci.ub),
    l1_tau2 = num(l1$tau2), cu_estimate = num(cu$estimate), cu_pval = num(cu$pval),
    cu_ci_low = num(cu$ci.lb), inf_rstudent = num(inf$rstudent), inf_dffits = num(inf$dffits),
    inf_cook = num(inf$cook.d), inf_covr = num(inf$cov.r),
    reg_stat = num(rt$zval), reg_pval = num(rt$pval), reg_df = num(rt$dfs),
    reg_est = num(rt$est))
}

# ---------------------------------------------------------------- output
res <- list(metafor_version = as.character(packageVersion("metafor")),
            control = ctrl,
            data = list(tables = tables, rates = rates, means = means),
            escalc = es_rows, mh = mh_rows, peto = peto_rows,
            uni_data = uni_data, uni = uni_rows, reg_data = reg_data, metareg = reg_rows,
            edge = edge, profile = pl_rows, fsn = fsn_rows, tes = tes_rows,
            t_diagnostics = tdiag)
write_json(res, out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
